/**
 * What an attacker sends instead of what a client does, for the "never a 500" tests: odd values put
 * where each route template has `*` (path, query and body alike), against every caller given. A
 * refusal must be Quay's error JSON.
 */
import { expect, it } from "vitest";
import { api } from "./api";

const LONG = "a".repeat(5_000);

/** Control characters, invalid UTF-8, unicode, a dot-dot, a space, a short, a long and odd names. */
export const ODD = ["%00", "%FF", "%F0%9F%98%80", "%2e%2e", "x%20y", "A", LONG, "-", "not-a-uuid"];

/** [method, path with `*` where each odd value goes, body with `*` likewise]. */
export type HostileRoute = [string, string, unknown?];

/** The value as a body carries it: percent-decoded where that is valid UTF-8. */
function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

function expandBody(body: unknown, value: string): unknown {
  if (typeof body === "string") return body.replaceAll("*", value);
  if (Array.isArray(body)) return body.map((item) => expandBody(item, value));
  if (body && typeof body === "object")
    return Object.fromEntries(Object.entries(body).map(([key, item]) => [key, expandBody(item, value)]));
  return body;
}

export interface HostileOptions {
  /** The values tried (default {@link ODD}). */
  values?: readonly string[];
  /** The path of `template` for `value` (default: `*` replaced by it). */
  path?: (template: string, value: string) => string;
  /** Only `error_type` makes a refusal Quay's (default: a `message` does too). */
  strict?: boolean;
}

/** One test per caller: every route, with every value, answers a success or Quay's error JSON, never a 500. */
export function neverA500(
  routes: readonly HostileRoute[],
  callers: ReadonlyArray<readonly [string, () => string | undefined]>,
  options: HostileOptions = {},
) {
  const pathOf = options.path ?? ((template: string, value: string) => template.replaceAll("*", value));
  for (const [who, token] of callers) {
    it(`answer ${who} Quay's error JSON or a success, never a 500`, async () => {
      const failures: string[] = [];
      for (const [method, template, body] of routes) {
        for (const value of options.values ?? ODD) {
          const path = pathOf(template, value);
          const res = await api(method, path, { token: token(), body: expandBody(body, decoded(value)) });
          const json = typeof res.json === "object" && res.json !== null ? res.json : {};
          const quayShaped = res.status < 400 || "error_type" in json || (!options.strict && "message" in json);
          if (res.status >= 500 || !quayShaped)
            failures.push(`${method} ${path.slice(0, 120)} → ${res.status} ${JSON.stringify(res.json).slice(0, 200)}`);
        }
      }
      expect(failures).toEqual([]);
    });
  }
}
