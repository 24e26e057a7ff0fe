/**
 * A small in-memory server speaking the part of the Confluent Schema Registry REST API that
 * producers and consumers use (register, look up, by id, latest). No registry server could be had
 * here (Apicurio's Maven Central artifacts do not resolve; Karapace is not on PyPI), so this stands
 * in as the shared store of ids. The wire format and the schemas on both sides are handled by the
 * real code under test: ferry's, and Confluent's own @confluentinc/schemaregistry serdes.
 * Like Confluent's: ids are global (the same schema text under two subjects has one id), a subject's
 * versions count from 1, schemaType is omitted for AVRO, errors are {error_code, message}. Like a
 * real one starting up, it can answer 500 for a while (`unavailableForMs`); like one whose subject
 * holds a schema a new one is not compatible with, it answers 409 for `incompatible` subjects.
 */
interface Version {
  subject: string;
  version: number;
  id: number;
}

export interface RegistryServer {
  url: string;
  /** Requests seen, as "METHOD /path". */
  requests: string[];
  subjects(): string[];
  schemaOf(id: number): { schema: string; schemaType: string } | undefined;
  stop(): void;
}

export function startRegistryServer(opts: { basicAuth?: string; port?: number; unavailableForMs?: number; incompatible?: string[] } = {}): RegistryServer {
  const availableAt = Date.now() + (opts.unavailableForMs ?? 0);
  const schemas: { schema: string; schemaType: string }[] = [];
  const versions = new Map<string, Version[]>();
  const requests: string[] = [];
  const json = (status: number, body: unknown) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/vnd.schemaregistry.v1+json" } });
  const notFound = (code: number, message: string) => json(404, { error_code: code, message });
  const idOf = (schema: string, schemaType: string) => {
    let i = schemas.findIndex((s) => s.schema === schema && s.schemaType === schemaType);
    if (i < 0) i = schemas.push({ schema, schemaType }) - 1;
    return i + 1;
  };
  const describe = (v: Version) => {
    const s = schemas[v.id - 1]!;
    return { subject: v.subject, version: v.version, id: v.id, schema: s.schema, ...(s.schemaType === "AVRO" ? {} : { schemaType: s.schemaType }) };
  };

  const server = Bun.serve({
    port: opts.port ?? 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname.replace(/\/$/, "");
      requests.push(`${req.method} ${path}`);
      if (Date.now() < availableAt) return json(500, { error_code: 50003, message: "Error while forwarding the request to the primary: no primary elected yet" });
      if (opts.basicAuth && req.headers.get("authorization") !== `Basic ${btoa(opts.basicAuth)}`) return json(401, { error_code: 401, message: "Unauthorized" });
      let m: RegExpExecArray | null;
      if (req.method === "GET" && path === "/subjects") return json(200, [...versions.keys()]);
      if ((m = /^\/schemas\/ids\/(\d+)$/.exec(path)) && req.method === "GET") {
        const s = schemas[Number(m[1]) - 1];
        if (!s) return notFound(40403, "Schema not found");
        return json(200, { schema: s.schema, ...(s.schemaType === "AVRO" ? {} : { schemaType: s.schemaType }) });
      }
      if ((m = /^\/subjects\/([^/]+)\/versions$/.exec(path)) && req.method === "POST") {
        const subject = decodeURIComponent(m[1]!);
        const body = (await req.json()) as { schema?: string; schemaType?: string };
        if (typeof body.schema !== "string") return json(422, { error_code: 42201, message: "Invalid schema" });
        const schemaType = body.schemaType ?? "AVRO";
        if (schemaType === "JSON") {
          try {
            JSON.parse(body.schema);
          } catch {
            return json(422, { error_code: 42201, message: "Invalid schema: not JSON" });
          }
        }
        const list = versions.get(subject) ?? [];
        if (opts.incompatible?.includes(subject) && list.length > 0 && !list.some((v) => schemas[v.id - 1]!.schema === body.schema)) {
          return json(409, { error_code: 409, message: `Schema being registered is incompatible with an earlier schema for subject "${subject}"` });
        }
        const id = idOf(body.schema, schemaType);
        if (!list.some((v) => v.id === id)) list.push({ subject, version: list.length + 1, id });
        versions.set(subject, list);
        return json(200, { id });
      }
      if ((m = /^\/subjects\/([^/]+)\/versions\/([^/]+)$/.exec(path)) && req.method === "GET") {
        const list = versions.get(decodeURIComponent(m[1]!));
        if (!list) return notFound(40401, "Subject not found");
        const v = m[2] === "latest" ? list.at(-1) : list.find((x) => x.version === Number(m![2]));
        return v ? json(200, describe(v)) : notFound(40402, "Version not found");
      }
      if ((m = /^\/subjects\/([^/]+)$/.exec(path)) && req.method === "POST") {
        const list = versions.get(decodeURIComponent(m[1]!));
        if (!list) return notFound(40401, "Subject not found");
        const body = (await req.json()) as { schema: string; schemaType?: string };
        const v = list.find((x) => schemas[x.id - 1]!.schema === body.schema);
        return v ? json(200, describe(v)) : notFound(40403, "Schema not found");
      }
      return notFound(404, `no route ${req.method} ${path}`);
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}`,
    requests,
    subjects: () => [...versions.keys()],
    schemaOf: (id) => schemas[id - 1],
    stop: () => server.stop(true),
  };
}
