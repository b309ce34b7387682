/** zod at the /api/v1 edge: bodies and parameters that fail answer Quay's 400 invalid_request. */
import type { Context } from "hono";
import type { z } from "zod";
import { readBounded } from "../../lib/http";
import { ApiError } from "./errors";
import { invalid } from "../../errors/domain";

/** Quay's API bodies are small JSON documents; anything larger is refused before it is buffered. */
const MAX_JSON_BYTES = 1024 * 1024;

/** What `value` holds at `path`, or undefined where the path leaves the value. */
function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let here = value;
  for (const key of path) {
    if (typeof here !== "object" || here === null || !Object.hasOwn(here, key)) return undefined;
    here = (here as Record<PropertyKey, unknown>)[key];
  }
  return here;
}

function firstIssue(error: z.ZodError, value: unknown): string {
  const issue = error.issues[0];
  if (!issue) return "Invalid request";
  const last = issue.path[issue.path.length - 1];
  // Quay validates bodies with jsonschema and answers its message; scripts match the one for a
  // missing member: "'repository' is a required property".
  if (issue.code === "invalid_type" && typeof last === "string" && valueAt(value, issue.path) === undefined)
    return `'${last}' is a required property`;
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return `${where}${issue.message}`;
}

export function parseOrInvalid<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalid(firstIssue(parsed.error, value));
  return parsed.data;
}

/** The request's JSON body, validated; malformed JSON and schema failures are invalid_request. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  const bytes = await readBounded(
    c.req.raw,
    MAX_JSON_BYTES,
    () => new ApiError("invalid_request", "Request body too large", { status: 413 }),
  );
  let value: unknown;
  try {
    const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    value = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw invalid("Malformed JSON body");
  }
  return parseOrInvalid(schema, value);
}
