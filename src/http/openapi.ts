/** OpenAPI 3.1 document of the ingress, derived from the Order schema. */
import { jsonSchemaOf } from "../schema/json-schema.ts";
import { OrderSchema } from "../schema/order.ts";
import { StatusSnapshotSchema } from "../status/types.ts";
import { ACCEPTED_CONTENT_TYPES } from "./read-records.ts";

export function openApiDocument(version: string) {
  const { $schema: _, ...order } = jsonSchemaOf(OrderSchema, "draft-2020-12");
  const { $schema: __, ...status } = jsonSchemaOf(StatusSnapshotSchema, "draft-2020-12");
  const error = { type: "object", properties: { error: { type: "string" } }, required: ["error"] };
  const issue = {
    type: "object",
    properties: { index: { type: "integer" }, path: { type: "string" }, message: { type: "string" } },
    required: ["index", "path", "message"],
  };
  const json = (schema: object) => ({ "application/json": { schema } });
  const retryAfter = { "Retry-After": { schema: { type: "integer" }, description: "Seconds to wait before retrying." } };
  return {
    openapi: "3.1.0",
    info: { title: "ferry ingress", version, description: "Orders in over HTTP; 202 only once every record is durable." },
    components: {
      schemas: { Order: order, Error: error, Issue: issue, StatusSnapshot: status },
      securitySchemes: {
        bearer: { type: "http", scheme: "bearer" },
        session: { type: "apiKey", in: "cookie", name: "ferry_session_<port>", description: "Set by POST /login (HttpOnly, SameSite=Strict)." },
      },
    },
    paths: {
      "/orders": {
        post: {
          summary: "Submit one order, an array of orders, or NDJSON",
          security: [{}, { bearer: [] }],
          requestBody: {
            required: true,
            content: Object.fromEntries(
              ACCEPTED_CONTENT_TYPES.map((t) => [
                t,
                t === "application/json"
                  ? { schema: { oneOf: [{ $ref: "#/components/schemas/Order" }, { type: "array", minItems: 1, items: { $ref: "#/components/schemas/Order" } }] } }
                  : { schema: { type: "string", description: "One Order JSON object per line." } },
              ]),
            ),
          },
          responses: {
            "202": { description: "Every record is durable.", content: json({ type: "object", properties: { accepted: { type: "integer" } }, required: ["accepted"] }) },
            "400": { description: "Malformed JSON; says where.", content: json(error) },
            "401": { description: "Missing or wrong bearer token.", content: json(error) },
            "413": { description: "Body over the limit.", content: json(error) },
            "415": { description: "Unsupported content type.", content: json(error) },
            "422": {
              description: "At least one invalid record; nothing was written.",
              content: json({ type: "object", properties: { error: { type: "string" }, issues: { type: "array", items: { $ref: "#/components/schemas/Issue" } } } }),
            },
            "429": { description: "Too many records in flight.", headers: retryAfter, content: json(error) },
            "503": { description: "Downstream unavailable or shutting down; nothing acknowledged.", headers: retryAfter, content: json(error) },
          },
        },
      },
      "/healthz": { get: { summary: "Liveness", responses: { "200": { description: "Alive" } } } },
      "/readyz": { get: { summary: "Downstream readiness", responses: { "200": { description: "Ready" }, "503": { description: "Not ready" } } } },
      "/metrics": { get: { summary: "Prometheus metrics", responses: { "200": { description: "Prometheus text format" } } } },
      "/": { get: { summary: "The status page (HTML; it reads /status/events)", responses: { "200": { description: "The page", content: { "text/html": {} } } } } },
      "/status.json": {
        get: {
          summary: "What this process is doing: one status snapshot",
          description: "With auth tokens configured: a bearer token or the session cookie of POST /login.",
          security: [{}, { bearer: [] }, { session: [] }],
          responses: {
            "200": { description: "The snapshot.", content: json({ $ref: "#/components/schemas/StatusSnapshot" }) },
            "401": { description: "A token is configured and none (or a wrong one) was given.", content: json(error) },
          },
        },
      },
      "/status/events": {
        get: {
          summary: "Server-sent events: a status snapshot at once, then one every second",
          description: "Each event is `event: status` with one `data:` line holding a StatusSnapshot's JSON. The stream ends when the listener stops.",
          security: [{}, { bearer: [] }, { session: [] }],
          responses: {
            "200": { description: "The event stream.", content: { "text/event-stream": { schema: { type: "string", description: "Events whose data is a StatusSnapshot (see /status.json)." } } } },
            "401": { description: "A token is configured and none (or a wrong one) was given.", content: json(error) },
          },
        },
      },
      "/login": {
        post: {
          summary: "Sign in to the status page: sets a session cookie (never the token)",
          requestBody: {
            required: true,
            content: { "application/x-www-form-urlencoded": { schema: { type: "object", properties: { token: { type: "string" } }, required: ["token"] } } },
          },
          responses: {
            "200": { description: "Signed in (asked with Accept: application/json).", content: json({ type: "object", properties: { signed_in: { type: "boolean" }, token_required: { type: "boolean" } } }) },
            "303": { description: "Signed in: back to the page." },
            "401": { description: "The token is not accepted.", content: json(error) },
            "403": { description: "Posted from another site's page.", content: json(error) },
          },
        },
      },
      "/logout": { post: { summary: "Sign out of the status page", responses: { "200": { description: "Signed out (asked with Accept: application/json)." }, "303": { description: "Signed out: back to the page." } } } },
    },
  };
}
