/** OpenAPI 3.1 document of the ingress, derived from the Order schema. */
import { jsonSchemaOf } from "../schema/json-schema.ts";
import { OrderSchema } from "../schema/order.ts";
import { ACCEPTED_CONTENT_TYPES } from "./read-records.ts";

export function openApiDocument(version: string) {
  const { $schema: _, ...order } = jsonSchemaOf(OrderSchema, "draft-2020-12");
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
      schemas: { Order: order, Error: error, Issue: issue },
      securitySchemes: { bearer: { type: "http", scheme: "bearer" } },
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
    },
  };
}
