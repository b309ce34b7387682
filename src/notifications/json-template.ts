/**
 * Quay's webhook body templates (`util/jsontemplate.py`): a JSON document whose strings may hold
 * `${path}` expressions into the event's payload. A string that is one expression becomes the
 * value found (a list stays a list); expressions inside a longer string are replaced by the value
 * as text (lists joined with commas, a missing value as `(none)`). Quay evaluates JSONPath; Wharf
 * takes the part of it templates use, dotted names and `[n]` indexes (`$.` optional), and refuses
 * the rest when the template is saved, so a template that saves is one that delivers.
 */
import { invalid } from "../errors/domain";

const INLINE = /\$\{([^}]*)\}/g;
const WHOLE = /^\$\{([^}]*)\}$/;
const SEGMENT = /^(?:[A-Za-z_][\w-]*|\[\d+\])$/;

type Path = Array<string | number>;

function parsePath(expression: string): Path {
  const text = expression.trim().replace(/^\$\.?/, "");
  if (text === "") throw invalid("Invalid webhook template: empty expression found");
  const path: Path = [];
  for (const part of text.split(/\.|(?=\[)/)) {
    if (!SEGMENT.test(part)) throw invalid(`Invalid webhook template: unsupported expression \`${expression}\``);
    path.push(part.startsWith("[") ? Number(part.slice(1, -1)) : part);
  }
  return path;
}

function lookup(data: unknown, path: Path): unknown {
  let value = data;
  for (const key of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<string | number, unknown>)[key];
  }
  return value;
}

function processString(text: string, data: unknown): unknown {
  const whole = WHOLE.exec(text);
  if (whole) return lookup(data, parsePath(whole[1]!)) ?? null;
  return text.replace(INLINE, (_match, expression: string) => {
    const found = lookup(data, parsePath(expression));
    if (found === undefined || found === null) return "(none)";
    return Array.isArray(found) ? found.join(",") : String(found);
  });
}

function apply(node: unknown, data: unknown): unknown {
  if (typeof node === "string") return processString(node, data);
  if (Array.isArray(node)) return node.map((item) => apply(item, data));
  if (node !== null && typeof node === "object")
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [String(processString(k, data)), apply(v, data)]));
  return node;
}

/** The parsed template; throws the API's 400 when it is no JSON or holds an unsupported expression. */
export function parseTemplate(template: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(template);
  } catch (err) {
    throw invalid(`Could not parse template: ${(err as Error).message}`);
  }
  apply(parsed, {});
  return parsed;
}

/** The body a template makes of `payload`. */
export function applyTemplate(template: string, payload: unknown): unknown {
  return apply(parseTemplate(template), payload);
}
