/**
 * Scopes of the Docker token endpoint (distribution "Token Scope Documentation"):
 * `resourcetype[(class)]:resourcename:action[,action]*`, several per `scope` parameter separated by
 * spaces, and the parameter repeatable. The resource name may itself hold a colon (a registry host
 * with a port), so the type is the first field and the actions the last.
 */
import type { AccessEntry } from "../identity/registry-tokens";

export interface RequestedScope {
  type: AccessEntry["type"];
  name: string;
  actions: string[];
}

/** Parsed scopes, or null when one is malformed. Unknown resource types are dropped, as distribution does. */
export function parseTokenScopes(values: string[]): RequestedScope[] | null {
  const scopes: RequestedScope[] = [];
  for (const text of values.flatMap((v) => v.split(" ")).filter(Boolean)) {
    const first = text.indexOf(":");
    const last = text.lastIndexOf(":");
    if (first <= 0 || last === first) return null;
    const type = text.slice(0, first).replace(/\(.*\)$/, "");
    const name = text.slice(first + 1, last);
    const actions = text
      .slice(last + 1)
      .split(",")
      .filter(Boolean);
    if (!name || actions.length === 0) return null;
    if (type === "repository" || type === "registry") scopes.push({ type, name, actions: [...new Set(actions)] });
  }
  return scopes;
}
