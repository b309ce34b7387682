/**
 * Attack (issue #16 review): exfiltrating a mirror's sealed credentials by retargeting it. The
 * password is never shown again, not even to the repository's admins; but any of them could move
 * `external_reference` to a registry they run (or turn verify_tls off, which means plain HTTP) and
 * let the next sync send the stored username and password there (HTTP Basic, or to the token realm
 * that registry names). Stored credentials now stay with the registry they were given for: a
 * change of host or a downgrade to plain HTTP without credentials in the same request clears them.
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { repoMirrorConfigs } from "../../../src/db/schema";
import { findRepository } from "../../../src/registry/repositories";
import { db } from "../helpers/accounts";
import { api } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { makeMirrorAccounts, mirrored as mirroredBy } from "../helpers/mirrors";

let olga: string;
const mirrored = (name: string) => mirroredBy(olga, name);

beforeAll(async () => {
  ({ olga } = await makeMirrorAccounts());
});
afterEach(() => vi.restoreAllMocks());

async function sealed(name: string) {
  const repository = await findRepository(db(), `olga/${name}`);
  const row = await db()
    .select()
    .from(repoMirrorConfigs)
    .where(eq(repoMirrorConfigs.repositoryId, repository!.id))
    .get();
  return { username: row!.sealedUsername, password: row!.sealedPassword };
}

const change = (name: string, body: Record<string, unknown>) =>
  api("PUT", `/repository/olga/${name}/mirror`, { token: olga, body });

describe("a mirror's stored credentials after its upstream changes", () => {
  it("are dropped when external_reference names another registry host without new credentials", async () => {
    await mirrored("retarget");
    expect((await sealed("retarget")).password).not.toBeNull();
    const events = recordEvents();
    expect((await change("retarget", { external_reference: "attacker.example/loot" })).status).toBe(201);
    expect(await sealed("retarget")).toEqual({ username: null, password: null });
    const changed = (await events.published("repo_mirror_config_changed")).map((e) => [e.data.changed, e.data.to]);
    expect(changed).toContainEqual(["external_registry_username", null]);
    const view = (await api("GET", "/repository/olga/retarget/mirror", { token: olga })).json;
    expect(view.external_registry_username).toBeNull();
  });

  it("are dropped when verify_tls is turned off (plain HTTP) without new credentials", async () => {
    await mirrored("downgrade");
    expect((await change("downgrade", { external_registry_config: { verify_tls: false } })).status).toBe(201);
    expect(await sealed("downgrade")).toEqual({ username: null, password: null });
  });

  it("stay for another repository on the same host, and when the new credentials come with the change", async () => {
    await mirrored("samehost");
    const before = await sealed("samehost");
    expect((await change("samehost", { external_reference: "REGISTRY.example.com/library/busybox" })).status).toBe(201);
    expect(await sealed("samehost")).toEqual(before);
    expect(
      (
        await change("samehost", {
          external_reference: "other.example/library/busybox",
          external_registry_username: "new",
          external_registry_password: "given-again",
        })
      ).status,
    ).toBe(201);
    expect((await sealed("samehost")).password).not.toBeNull();
    expect(
      (await api("GET", "/repository/olga/samehost/mirror", { token: olga })).json.external_registry_username,
    ).toBe("new");
  });
});
