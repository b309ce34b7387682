/**
 * CSRF on every state change (Quay's endpoints/csrf.py `csrf_protect`, applied to its whole API): a
 * signed-in browser's call of EVERY non-GET operation the discovery document lists, carrying the
 * session cookie and no X-CSRF-Token, is refused with Quay's 403 "CSRF token was invalid or
 * missing." before the operation runs; the same call with the token is not refused so. No operation
 * is exempt: Quay exempts none either (it checks even without a session, where Wharf checks the
 * calls that carry one: without a session cookie a browser's cross-site request carries no
 * credential Wharf honours).
 */
import { beforeAll, describe, expect, it } from "vitest";
import { api, initializeAdmin } from "../helpers/api";
import { browser, personMaker } from "../helpers/signed-in";

/** What each path parameter names: anything, since the refusal comes before the operation. */
const PARAM = "fixture";

let headers: Record<string, string>;
let operations: { method: string; path: string; operationId: string }[];

beforeAll(async () => {
  const admin = await initializeAdmin();
  const { password } = await personMaker(admin)("csrfwalker");
  headers = await browser("csrfwalker", password);
  // `internal=true`: the superuser and internal operations too, every operation the router has.
  const discovery = await api("GET", "/discovery?internal=true");
  operations = Object.entries(discovery.json.paths as Record<string, Record<string, { operationId: string }>>).flatMap(
    ([path, item]) =>
      Object.entries(item)
        .filter(([method]) => ["post", "put", "delete", "patch"].includes(method))
        .map(([method, op]) => ({ method: method.toUpperCase(), path, operationId: op.operationId })),
  );
});

const concrete = (path: string) =>
  path.replace(/\{[^}]+\}/g, (param) => (param === "{repository}" ? `${PARAM}/${PARAM}` : PARAM));

describe("CSRF on every documented state change", () => {
  it("the discovery document lists the write operations, the superuser's included", () => {
    expect(operations.length).toBeGreaterThan(100);
    expect(operations.map((op) => op.path)).toContain("/api/v1/superuser/users/{username}");
  });

  it("refuses each with the session cookie and no X-CSRF-Token: Quay's 403, before the operation", async () => {
    const { "X-CSRF-Token": _token, ...withoutToken } = headers;
    const unprotected: string[] = [];
    for (const op of operations) {
      const res = await api(op.method, concrete(op.path).replace(/^\/api\/v1/, ""), {
        headers: withoutToken,
        body: {},
      });
      const refused = res.status === 403 && res.json?.error_message === "CSRF token was invalid or missing.";
      if (!refused) unprotected.push(`${op.method} ${op.path} (${op.operationId}) → ${res.status}`);
    }
    expect(unprotected).toEqual([]);
  });

  it("refuses a wrong token as a missing one, and lets the right token through to the operation", async () => {
    const wrong = await api("POST", "/user/starred", {
      headers: { ...headers, "X-CSRF-Token": `${headers["X-CSRF-Token"]}x` },
      body: { namespace: "csrfwalker", repository: "none" },
    });
    expect(wrong.status).toBe(403);
    expect(wrong.json.error_message).toBe("CSRF token was invalid or missing.");
    const right = await api("POST", "/user/starred", {
      headers,
      body: { namespace: "csrfwalker", repository: "none" },
    });
    expect(right.json?.error_message).not.toBe("CSRF token was invalid or missing.");
    expect(right.status).toBe(404);
  });
});
