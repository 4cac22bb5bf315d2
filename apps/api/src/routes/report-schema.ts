/** The response schema shared by /healthz and /readyz: a status and each component's state. */

const componentSchema = {
  type: "object",
  properties: {
    ok: { type: "boolean" },
    latencyMs: { type: "number" },
    error: { type: "string" },
    detail: { type: "object", additionalProperties: { type: ["string", "number"] } },
  },
  required: ["ok", "latencyMs"],
} as const;

/** `{ status: one of statuses, components: { <name>: component } }`. */
export function reportSchema(statuses: readonly [string, string]) {
  return {
    type: "object",
    properties: {
      status: { type: "string", enum: statuses },
      components: { type: "object", additionalProperties: componentSchema },
    },
    required: ["status", "components"],
  } as const;
}
