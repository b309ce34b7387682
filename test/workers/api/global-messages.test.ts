/**
 * Quay's global messages (`endpoints/api/globalmessages.py`): `getGlobalMessages` open to anyone,
 * `createGlobalMessage` and `deleteGlobalMessage` for superusers, with Quay's body and enums.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
  await makeUser(admin, "olga");
});

const message = (content: string, severity = "info", media_type = "text/plain") => ({
  message: { content, media_type, severity },
});

describe("global messages", () => {
  it("a superuser posts (201, empty body); anyone, anonymous included, reads them with Quay's fields", async () => {
    const created = await api("POST", "/messages", { token: admin, body: message("Maintenance at noon", "warning") });
    expect(created.status).toBe(201);
    expect(created.json).toBeNull();
    await api("POST", "/messages", { token: admin, body: message("**Welcome**", "info", "text/markdown") });
    const res = await api("GET", "/messages");
    expect(res.status).toBe(200);
    // Quay `globalmessages_models_interface.py` GlobalMessage.to_dict: uuid, content, media_type, severity.
    expect(res.json).toEqual({
      messages: [
        { uuid: expect.any(String), content: "Maintenance at noon", media_type: "text/plain", severity: "warning" },
        { uuid: expect.any(String), content: "**Welcome**", media_type: "text/markdown", severity: "info" },
      ],
    });
    const olga = await tokenFor("olga", ["user:read"]);
    expect((await api("GET", "/messages", { token: olga })).json).toEqual(res.json);
  });

  it("a superuser deletes one by uuid (204; an unknown uuid too, as Quay)", async () => {
    await api("POST", "/messages", { token: admin, body: message("to delete", "error") });
    const before = (await api("GET", "/messages")).json.messages as Array<{ uuid: string; content: string }>;
    const target = before.find((m) => m.content === "to delete")!;
    expect((await api("DELETE", `/message/${target.uuid}`, { token: admin })).status).toBe(204);
    const after = (await api("GET", "/messages")).json.messages as Array<{ uuid: string }>;
    expect(after.map((m) => m.uuid)).toEqual(before.filter((m) => m.uuid !== target.uuid).map((m) => m.uuid));
    expect((await api("DELETE", `/message/${target.uuid}`, { token: admin })).status).toBe(204);
  });

  it("refuses bodies outside Quay's schema (400)", async () => {
    const count = async () => ((await api("GET", "/messages")).json.messages as unknown[]).length;
    const before = await count();
    for (const body of [
      {},
      { message: { content: "x", media_type: "text/html", severity: "info" } },
      { message: { content: "x", media_type: "text/plain", severity: "critical" } },
      { message: { media_type: "text/plain", severity: "info" } },
      { message: "plain text" },
    ])
      expectQuayError(await api("POST", "/messages", { token: admin, body }), 400, "invalid_request");
    expect(await count()).toBe(before);
  });

  it("refuses the anonymous (401), a non-superuser (403), a token without super:user (403)", async () => {
    const before = (await api("GET", "/messages")).json.messages as Array<{ uuid: string }>;
    const olga = await tokenFor("olga", ["super:user", "user:admin"]);
    const narrow = await tokenFor("admin", ["user:admin", "org:admin"]);
    expectQuayError(await api("POST", "/messages", { body: message("x") }), 401, "invalid_token");
    expectQuayError(await api("POST", "/messages", { token: olga, body: message("x") }), 403, "insufficient_scope");
    expectQuayError(await api("POST", "/messages", { token: narrow, body: message("x") }), 403, "insufficient_scope");
    const uuid = before[0]!.uuid;
    expectQuayError(await api("DELETE", `/message/${uuid}`), 401, "invalid_token");
    expectQuayError(await api("DELETE", `/message/${uuid}`, { token: olga }), 403, "insufficient_scope");
    expectQuayError(await api("DELETE", `/message/${uuid}`, { token: narrow }), 403, "insufficient_scope");
    expect((await api("GET", "/messages")).json.messages).toEqual(before);
  });
});
