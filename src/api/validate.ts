/** zod at the /api/v1 edge: bodies and parameters that fail answer Quay's 400 invalid_request. */
import type { Context } from "hono";
import type { z } from "zod";
import { invalidRequest } from "./errors";

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "Invalid request";
  const where = issue.path.length > 0 ? `${issue.path.join(".")}: ` : "";
  return `${where}${issue.message}`;
}

export function parseOrInvalid<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw invalidRequest(firstIssue(parsed.error));
  return parsed.data;
}

/** The request's JSON body, validated; malformed JSON and schema failures are invalid_request. */
export async function jsonBody<S extends z.ZodType>(c: Context, schema: S): Promise<z.infer<S>> {
  let value: unknown;
  try {
    const text = await c.req.text();
    value = text.length === 0 ? {} : JSON.parse(text);
  } catch {
    throw invalidRequest("Malformed JSON body");
  }
  return parseOrInvalid(schema, value);
}
