import { Type, type IntegerOptions, type TObject, type TSchema } from "@sinclair/typebox";
import { t } from "elysia";

/**
 * A value or null, as OpenAPI 3.1 says it (`type: [..., "null"]`). Elysia's t.Nullable also marks
 * the schema `nullable: true`, an OpenAPI 3.0 keyword that 3.1 tools reject.
 */
export const Nullable = <S extends TSchema>(schema: S) => t.Union([schema, t.Null()]);

/**
 * A whole number in a JSON body or answer. Elysia's t.Integer also takes a numeric string, which
 * only a query needs, and so documents `string | integer` (elysiajs/elysia-openapi#287).
 */
export const WholeNumber = (options?: IntegerOptions) => Type.Integer(options);

/**
 * A query schema as OpenAPI parameters, for a route that reads its own query (forward auth, whose
 * every request would otherwise pay for Elysia's): documented from the one declaration.
 */
export function queryParameters(schema: TObject) {
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([name, property]) => ({ name, in: "query" as const, required: required.has(name), schema: property }));
}
