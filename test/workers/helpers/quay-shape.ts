/**
 * Field-for-field comparison with Quay's JSON (issue #14): a case names the Quay view it mirrors
 * and lists Quay's keys with each one's JSON type; Wharf's answer must have exactly those keys (no
 * key Quay lacks) of those types. Checks are soft (`expect.soft`), so one run counts every field:
 * each file prints `quay-shapes <file>: <matched> of <quay fields> fields over <cases> cases`,
 * the figure the issue measures.
 */
import { afterAll, expect } from "vitest";

/**
 * A JSON type as Python's json module writes it: `int` a whole number, `float` a number written
 * with a fraction (`0.0`: the raw text is checked with {@link floatText}), `any` whatever is there.
 */
type JsonType = "string" | "int" | "number" | "bool" | "null" | "object" | "array" | "any";
/** One type, several joined by `|` (`"string|null"`), or a predicate for a value Quay fixes. */
export type FieldSpec = `${JsonType}` | `${JsonType}|${JsonType}` | ((value: unknown) => boolean);

function typeMatches(type: JsonType, value: unknown): boolean {
  switch (type) {
    case "string":
      return typeof value === "string";
    case "int":
      return Number.isInteger(value);
    case "number":
      return typeof value === "number";
    case "bool":
      return typeof value === "boolean";
    case "null":
      return value === null;
    case "object":
      return typeof value === "object" && value !== null && !Array.isArray(value);
    case "array":
      return Array.isArray(value);
    case "any":
      return value !== undefined;
  }
}

function fieldMatches(spec: FieldSpec, value: unknown): boolean {
  if (typeof spec === "function") return spec(value);
  return spec.split("|").some((type) => typeMatches(type as JsonType, value));
}

const tally = { cases: 0, quayFields: 0, matched: 0 };

/**
 * Asserts that `value` has exactly Quay's keys (`quay`), each of its type; `quayView` names the
 * Quay file and function the list comes from. `optional` keys Quay writes only sometimes may be
 * absent (they still count when present). Returns the value for further checks.
 */
export function expectQuayShape(
  quayView: string,
  value: unknown,
  quay: Record<string, FieldSpec>,
  optional: readonly string[] = [],
): any {
  tally.cases++;
  const object = (typeof value === "object" && value !== null ? value : {}) as Record<string, unknown>;
  expect.soft(value, `${quayView}: an object`).toBeTypeOf("object");
  for (const [key, spec] of Object.entries(quay)) {
    const present = Object.hasOwn(object, key);
    if (!present && optional.includes(key)) continue;
    tally.quayFields++;
    const ok = present && fieldMatches(spec, object[key]);
    if (ok) tally.matched++;
    expect.soft(ok, `${quayView}.${key}: ${present ? JSON.stringify(object[key]) : "missing"}`).toBe(true);
  }
  const extra = Object.keys(object).filter((key) => !Object.hasOwn(quay, key));
  expect.soft(extra, `${quayView}: keys Quay does not have`).toEqual([]);
  return value;
}

/** The raw JSON text writes `key` as a float (Python's `0.0`), as Quay's `float(…)` does. */
export const floatText = (text: string, key: string) =>
  new RegExp(`"${key}":\\s*-?\\d+\\.\\d+([eE][-+]?\\d+)?[,}]`).test(text);

/** Prints the file's count once its tests ran. */
export function reportQuayShapes(file: string): void {
  afterAll(() => {
    console.log(`quay-shapes ${file}: ${tally.matched} of ${tally.quayFields} fields over ${tally.cases} cases`);
  });
}

/** Quay's avatar object (avatars/avatars.py `get_data`). */
export const AVATAR: Record<string, FieldSpec> = { name: "string", hash: "string", color: "string", kind: "string" };

// Quay's views that more than one file checks, each beside the Quay file and function it comes from.

/** permission_models_interface.py `UserPermission.to_dict`, of an organization's repository. */
export const QUAY_USER_PERMISSION: Record<string, FieldSpec> = {
  role: "string",
  name: "string",
  is_robot: "bool",
  avatar: "object",
  is_org_member: "bool",
};

/** permission_models_interface.py `TeamPermission.to_dict`. */
export const QUAY_TEAM_PERMISSION: Record<string, FieldSpec> = { role: "string", name: "string", avatar: "object" };

/** prototype.py `prototype_view`. */
export const QUAY_PROTOTYPE: Record<string, FieldSpec> = {
  activating_user: "object|null",
  delegate: "object",
  role: "string",
  id: "string",
};

/** organization.py `app_view`, for the organization's admins. */
export const QUAY_APPLICATION: Record<string, FieldSpec> = {
  name: "string",
  description: "string",
  application_uri: "string",
  client_id: "string",
  client_secret: "string",
  redirect_uri: "string",
  avatar_email: "string|null",
};

/** superuser.py `user_view`; pass {@link QUAY_SUPERUSER_USER_OPTIONAL} as its optional keys. */
export const QUAY_SUPERUSER_USER: Record<string, FieldSpec> = {
  kind: "string",
  name: "string",
  username: "string",
  email: "string|null",
  verified: "bool",
  avatar: "object",
  super_user: "bool",
  enabled: "bool",
  global_readonly_super_user: "bool",
};

/**
 * Quay's newer user_view adds `global_readonly_super_user`; another engineer of issue #14 adds it,
 * so it may be absent.
 */
export const QUAY_SUPERUSER_USER_OPTIONAL = ["global_readonly_super_user"];
