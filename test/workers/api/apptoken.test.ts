import { beforeAll, describe, expect, it } from "vitest";
import { accessTokens } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/encoding";
import { basic, db, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { request } from "../helpers/registry";

let admin: string;
const login = (user: string, password: string) =>
  request("GET", "/v2/auth?scope=repository:admin/app:pull", {
    token: null,
    headers: { Authorization: basic(user, password) },
  });
const RFC2822 = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} -0000$/;

beforeAll(async () => {
  admin = await initializeAdmin();
});

describe("application tokens", () => {
  it("creates one that registry clients take as a password, shows it again, lists it without its code", async () => {
    const created = await api("POST", "/user/apptoken", { token: admin, body: { title: "ci pipeline" } });
    expect(created.status).toBe(200);
    const token = created.json.token;
    expect(token).toMatchObject({ title: "ci pipeline", last_accessed: null, expiration: null });
    expect(token.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(token.created).toMatch(RFC2822);
    expect(token.token_code).toMatch(/^[A-Za-z0-9]{40}$/);

    const [row] = await db()
      .select()
      .from(accessTokens)
      .all()
      .then((rows) => rows.filter((r) => r.uuid === token.uuid));
    expect(row!.tokenHash).toBe(await sha256Hex(token.token_code));
    expect(row!.sealedCode).not.toContain(token.token_code);

    expect((await login("$app", token.token_code)).status).toBe(200);
    expect((await login("admin", token.token_code)).status).toBe(200);

    const listed = await api("GET", "/user/apptoken", { token: admin });
    expect(listed.status).toBe(200);
    expect(listed.json.only_expiring).toBeNull();
    const entry = listed.json.tokens.find((t: { uuid: string }) => t.uuid === token.uuid);
    expect(entry).toMatchObject({ title: "ci pipeline" });
    expect(entry).not.toHaveProperty("token_code");
    expect(entry.last_accessed).toMatch(RFC2822);

    const one = await api("GET", `/user/apptoken/${token.uuid}`, { token: admin });
    expect(one.json.token.token_code).toBe(token.token_code);
  });

  it("is not an API credential, and revoking it ends it", async () => {
    const { json } = await api("POST", "/user/apptoken", { token: admin, body: { title: "short-lived" } });
    const code = json.token.token_code as string;
    expectQuayError(await api("GET", "/user/", { token: code }), 401, "invalid_token");
    expect((await api("DELETE", `/user/apptoken/${json.token.uuid}`, { token: admin })).status).toBe(204);
    expect((await login("$app", code)).status).toBe(401);
    expectQuayError(await api("GET", `/user/apptoken/${json.token.uuid}`, { token: admin }), 404, "not_found");
    expectQuayError(await api("DELETE", `/user/apptoken/${json.token.uuid}`, { token: admin }), 404, "not_found");
  });

  it("refuses a missing title, the anonymous, a token without user:admin, and another user's token ids", async () => {
    expectQuayError(await api("POST", "/user/apptoken", { token: admin, body: {} }), 400, "invalid_request");
    expectQuayError(
      await api("POST", "/user/apptoken", { token: admin, body: { title: "   " } }),
      400,
      "invalid_request",
    );
    expectQuayError(await api("GET", "/user/apptoken"), 401, "invalid_token");
    const reader = await tokenFor("admin", ["user:read"]);
    expectQuayError(await api("GET", "/user/apptoken", { token: reader }), 403, "insufficient_scope");

    const mine = await api("POST", "/user/apptoken", { token: admin, body: { title: "admin's" } });
    const other = await api("POST", "/superuser/users", {
      token: admin,
      body: { username: "carol", email: "carol@example.com" },
    });
    expect(other.status).toBe(200);
    const carolToken = await tokenFor("carol", ["user:admin"]);
    expectQuayError(
      await api("GET", `/user/apptoken/${mine.json.token.uuid}`, { token: carolToken }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("DELETE", `/user/apptoken/${mine.json.token.uuid}`, { token: carolToken }),
      404,
      "not_found",
    );
    expect((await api("GET", "/user/apptoken", { token: carolToken })).json.tokens).toEqual([]);
  });
});
