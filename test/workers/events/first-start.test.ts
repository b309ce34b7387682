/**
 * The events of a registry's first start (`POST /api/v1/user/initialize`, Quay's
 * FEATURE_USER_INITIALIZE): `user_create` and, with `access_token`, `create_oauth_api_token`, both
 * by no one (anonymous); refused initializations publish nothing.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { ALL_SCOPES } from "../../../src/identity/scopes";
import { findUser } from "../../../src/identity/users";
import { db } from "../helpers/accounts";
import { api } from "../helpers/api";
import { recordEvents } from "../helpers/events";

afterEach(() => {
  vi.restoreAllMocks();
});

const IP = "192.0.2.44";

describe("POST /api/v1/user/initialize", () => {
  it("creates the first superuser and its token: one event each, then refuses again with none", async () => {
    const recorder = recordEvents();
    const body = { username: "admin", password: "admin-password-1", email: "admin@example.com", access_token: true };
    // Not listed in SUPER_USERS: refused before anything is written.
    expect((await api("POST", "/user/initialize", { body: { ...body, username: "olga" } })).status).toBe(400);
    expect(await recorder.published()).toEqual([]);
    const res = await api("POST", "/user/initialize", { body, headers: { "CF-Connecting-IP": IP } });
    expect(res.status).toBe(200);
    const admin = { kind: "user", name: "admin", id: (await findUser(db(), "admin"))!.id };
    const envelope = { id: expect.any(String), at: expect.any(Number), namespace: "admin", repository: null };
    const nobody = { actor: { kind: "anonymous" }, ip: IP };
    expect(await recorder.published()).toEqual([
      { ...envelope, ...nobody, kind: "user_create", data: { email: "admin@example.com" } },
      {
        ...envelope,
        ...nobody,
        kind: "create_oauth_api_token",
        data: { user: admin, application: null, scope: ALL_SCOPES.join(" ") },
      },
    ]);
    expect((await api("POST", "/user/initialize", { body })).status).toBe(400);
    // Nothing written for it either: the outbox holds no row the drain would send later.
    expect(await recorder.published()).toHaveLength(2);
  });
});
