/**
 * No username oracle (issue #12, item 7): a wrong password costs the same PBKDF2 whether the
 * username is a user, unknown, disabled or an organization, so answer times do not tell which
 * names exist. Counted with a spy on the hash, not a stopwatch.
 */
import { beforeAll, describe, expect, it, vi } from "vitest";
import { basic, tokenFor } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { request } from "../helpers/registry";

let address = 0;
/** Each check from its own client address, so no login limit is reached here. */
const headers = (extra: Record<string, string>) => ({ ...extra, "CF-Connecting-IP": `203.0.113.${++address}` });

/** PBKDF2 derivations made while `fn` runs. */
async function pbkdf2During(fn: () => Promise<Response>): Promise<{ count: number; status: number }> {
  const spy = vi.spyOn(crypto.subtle, "deriveBits");
  try {
    const res = await fn();
    await res.arrayBuffer();
    return {
      count: spy.mock.calls.filter(([algorithm]) => (algorithm as { name: string }).name === "PBKDF2").length,
      status: res.status,
    };
  } finally {
    spy.mockRestore();
  }
}

const v2Auth = (username: string, password: string) =>
  pbkdf2During(() =>
    request("GET", "/v2/auth", { token: null, headers: headers({ Authorization: basic(username, password) }) }),
  );

const signin = (username: string, password: string) =>
  pbkdf2During(() =>
    request("POST", "/api/v1/signin", {
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({ username, password }),
    }),
  );

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const username of ["quinn", "rita"])
    await api("POST", "/superuser/users", { token: admin, body: { username, email: `${username}@example.com` } });
  await api("PUT", "/superuser/users/rita", { token: admin, body: { enabled: false } });
  await api("POST", "/organization/", { token: await tokenFor("quinn"), body: { name: "quinnco" } });
});

describe("a wrong password hashes exactly once, whoever the username names", () => {
  const names: [string, string][] = [
    ["a known user", "quinn"],
    ["an unknown user", "nobody-here"],
    ["a disabled user", "rita"],
    ["an organization", "quinnco"],
    ["a name no account can have", "Not A+Name+"],
  ];
  for (const [what, username] of names) {
    it(`/v2/auth, ${what}`, async () => {
      expect(await v2Auth(username, "wrong-password")).toEqual({ count: 1, status: 401 });
    });
    it(`/api/v1/signin, ${what}`, async () => {
      expect(await signin(username, "wrong-password")).toEqual({ count: 1, status: 403 });
    });
  }

  it("also when the wrong password has an application token's length (the token lookup runs either way)", async () => {
    expect(await v2Auth("quinn", "x".repeat(40))).toEqual({ count: 1, status: 401 });
    expect(await v2Auth("nobody-here", "x".repeat(40))).toEqual({ count: 1, status: 401 });
  });
});
