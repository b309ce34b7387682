/**
 * Attack (issue #16 review): the registry-wide mirror health (every namespace's mirrored
 * repositories, private ones named in its issues) read with any token of a superuser. Quay's
 * `allow_if_superuser()` is SuperUserPermission, which an OAuth token carries only with the
 * super:user scope; a superuser's token scoped to repo:read (handed to a CI job, say) must not
 * read what only the superuser's full credential reads.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { tokenFor } from "../helpers/accounts";
import { api, expectQuayError } from "../helpers/api";
import { makeMirrorAccounts, mirrored } from "../helpers/mirrors";

let admin: string;

beforeAll(async () => {
  const accounts = await makeMirrorAccounts();
  admin = accounts.admin;
  await mirrored(accounts.olga, "scopedhealth");
});

describe("GET /api/v1/repository/mirror/health without a namespace", () => {
  it("answers a superuser's super:user credential, not a token of narrower scope", async () => {
    expect((await api("GET", "/repository/mirror/health", { token: admin })).status).toBe(200);
    const narrow = await tokenFor("admin", ["repo:read"]);
    expectQuayError(await api("GET", "/repository/mirror/health", { token: narrow }), 403, "insufficient_scope");
  });
});
