/**
 * The accounts and mirrors of the mirroring API tests (test/workers/api/mirror*.test.ts): olga with
 * her robots `mirrorbot` and `otherbot`, wanda and gus without access, ivan with a robot of his own.
 */
import { expect } from "vitest";
import { makeUser, tokenFor } from "./accounts";
import { api, createPrivateRepository, fixtureCall, initializeAdmin } from "./api";

export interface MirrorAccounts {
  admin: string;
  olga: string;
  olgaPassword: string;
  wanda: string;
  gus: string;
  /** olga+mirrorbot's token. */
  robotToken: string;
}

/** A createRepoMirrorConfig body mirrored by olga+mirrorbot, with `overrides`. */
export const mirrorBody = (overrides: Record<string, unknown> = {}) => ({
  external_reference: "registry.example.com/library/alpine",
  external_registry_username: "puller",
  external_registry_password: "s3cret-upstream",
  sync_interval: 3600,
  sync_start_date: "2026-01-01T00:00:00Z",
  robot_username: "olga+mirrorbot",
  root_rule: { rule_kind: "tag_glob_csv", rule_value: ["3.*", "latest"] },
  external_registry_config: { verify_tls: true, unsigned_images: false, proxy: { http_proxy: null } },
  ...overrides,
});

export async function makeMirrorAccounts(): Promise<MirrorAccounts> {
  const admin = await initializeAdmin();
  const olgaPassword = await makeUser(admin, "olga");
  await makeUser(admin, "wanda");
  await makeUser(admin, "gus");
  const olga = await tokenFor("olga");
  const robotToken = (await fixtureCall(olga, "PUT", "/user/robots/mirrorbot", {})).json.token;
  await fixtureCall(olga, "PUT", "/user/robots/otherbot", {});
  await makeUser(admin, "ivan");
  await fixtureCall(await tokenFor("ivan"), "PUT", "/user/robots/foreign", {});
  return { admin, olga, olgaPassword, wanda: await tokenFor("wanda"), gus: await tokenFor("gus"), robotToken };
}

/** olga's new private repository `name`, mirrored (expects the 201). */
export async function mirrored(olga: string, name: string, overrides: Record<string, unknown> = {}) {
  await createPrivateRepository(olga, "olga", name);
  const res = await api("POST", `/repository/olga/${name}/mirror`, { token: olga, body: mirrorBody(overrides) });
  expect(res.status, JSON.stringify(res.json)).toBe(201);
}
