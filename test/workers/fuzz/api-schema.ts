/**
 * Inputs for /api/v1 drawn from the routes' own descriptions (src/routes/api/openapi.ts
 * `documented`): every write operation's JSON body and every listing's query, as the zod schemas
 * the handlers validate with describe them, with hostile values mixed in at every level. A body
 * right in shape reaches the handler's logic; a body wrong in one field tests the edge.
 */
import fc from "fast-check";
import { z } from "zod";
import { api as apiRouter } from "../../../src/routes/api";
import { type DescribedRoute, describedRoutes } from "../../../src/routes/api/openapi";

/** Every described /api/v1 route. */
export const ROUTES: readonly DescribedRoute[] = describedRoutes(apiRouter.routes);

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  allOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  format?: string;
};

/** The JSON Schema a client reads for `schema` (the input side, as the OpenAPI document has it). */
export function jsonSchemaOf(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-2020-12" }) as JsonSchema;
}

/** Values no field expects: numbers past 2^53 and below zero, long and odd strings, wrong types, nesting. */
export const hostile: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(1e308, -1, 2 ** 53 + 1, 1.5, -0, 0, Number.MAX_SAFE_INTEGER, -(2 ** 63)),
  fc.constantFrom("", " ", "\u0000", "\u202e", "😀".repeat(40), "a".repeat(20_000), "../../etc", "<script>", "%00"),
  fc.constantFrom("http://127.0.0.1/", "http://169.254.169.254/latest/meta-data", "file:///etc/passwd", "*", "(a+)+$"),
  fc.constantFrom(null, true, false),
  // Fresh containers each time: a shared instance mutated by what is built around it could come
  // to contain itself.
  fc.constant(0).map(() => []),
  fc.constant(0).map(() => ({})),
  fc.constant(0).map(() => [[[[[[[[[[[]]]]]]]]]]]),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.jsonValue({ maxDepth: 3 }),
);

/** Values of the right type for `schema` (often valid), hostile ones now and then. */
export function fieldValue(schema: JsonSchema, depth = 0): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 4, arbitrary: shaped(schema, depth) }, { weight: 1, arbitrary: hostile });
}

function shaped(schema: JsonSchema, depth: number): fc.Arbitrary<unknown> {
  if (depth > 4) return hostile;
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const choices = schema.anyOf ?? schema.oneOf;
  if (choices && choices.length > 0) return fc.oneof(...choices.map((s) => shaped(s, depth + 1)));
  if (schema.allOf && schema.allOf.length > 0) return shaped(schema.allOf[0]!, depth + 1);
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case "object":
      return fc.record(
        Object.fromEntries(Object.entries(schema.properties ?? {}).map(([k, s]) => [k, fieldValue(s, depth + 1)])),
        { requiredKeys: [] },
      );
    case "array":
      return fc.array(fieldValue(schema.items ?? {}, depth + 1), { maxLength: 4 });
    case "integer":
    case "number":
      return fc.oneof(
        fc.integer({ min: schema.minimum ?? -10, max: Math.min(schema.maximum ?? 1_000_000, 2 ** 31) }),
        fc.constantFrom(0, 1, 60, 3600, 2 ** 31, -1),
      );
    case "boolean":
      return fc.boolean();
    case "string":
      return fc.oneof(
        fc.stringMatching(/^[a-z][a-z0-9_]{0,15}$/),
        fc.constantFrom(
          "fuzzorg",
          "fuzzuser",
          "admin",
          "owners",
          "read",
          "write",
          "admin",
          "latest",
          "1d",
          "2w",
          "fuzzorg/app",
        ),
        fc.constantFrom("fuzz@example.com", "https://example.com/hook", "public", "private", "tags", "repository"),
        fc.string({ maxLength: 30 }),
        // Past D1's 50-byte LIKE pattern limit (src/db/text-match.ts), within most fields' caps.
        fc.string({ minLength: 40, maxLength: 128 }),
      );
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

/** A query string for `schema`'s fields plus the pagination keys every listing reads. */
export function queryOf(schema: z.ZodObject | undefined): fc.Arbitrary<string> {
  const fields = Object.entries(schema?.shape ?? {}).map(([k, f]) => [k, jsonSchemaOf(f as z.ZodType)] as const);
  const paging = fc.oneof(
    fc.integer({ min: -(2 ** 40), max: 2 ** 40 }).map(String),
    fc.constantFrom("", "0", "-1", "1e400", "NaN", "0x10", "9".repeat(400), "１"),
    fc.string({ maxLength: 60 }),
  );
  const pairs = fc.array(
    fc.oneof(
      ...(fields.length > 0
        ? [fc.constantFrom(...fields).chain(([k, s]) => fieldValue(s).map((v) => [k, scalar(v)] as const))]
        : []),
      fc.tuple(
        fc.constantFrom("n", "last", "page", "limit", "next_page", "starttime", "endtime", "filter_tag_name"),
        paging,
      ),
    ),
    { maxLength: 5 },
  );
  return pairs.map((list) => list.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&"));
}

/** How a value travels in a query string. */
function scalar(value: unknown): string {
  return typeof value === "string" ? value : (JSON.stringify(value) ?? "");
}
