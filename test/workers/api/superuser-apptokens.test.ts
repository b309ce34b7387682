/**
 * `listAllAppTokens` (`GET /api/v1/superuser/apptokens`, Quay `endpoints/api/superuser.py`
 * `SuperUserAppTokens`): every user's application tokens, never their codes, and the `expiring`
 * filter.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { accessTokens } from "../../../src/db/schema";
import { createAppToken } from "../../../src/identity/app-tokens";
import { findUser } from "../../../src/identity/users";
import { clock } from "../../../src/lib/clock";
import { db, makeUser, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { fixtureEvents } from "../helpers/events";

let admin: string;
const uuids: Record<string, string> = {};

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["olga", "gus"]) await makeUser(admin, name);
  const now = clock.now();
  const made: Array<[string, string, number | null]> = [
    ["olga", "olga-ci", null],
    ["gus", "gus-soon", now + 86_400_000],
    ["gus", "gus-later", now + 30 * 86_400_000],
    ["gus", "gus-expired", now - 1000],
  ];
  for (const [owner, title, expiresAt] of made) {
    const { token } = await createAppToken(db(), env, (await findUser(db(), owner))!, title, fixtureEvents());
    await db().update(accessTokens).set({ expiresAt }).where(eq(accessTokens.id, token.id));
    uuids[title] = token.uuid!;
  }
});

describe("listAllAppTokens", () => {
  it("lists every user's tokens with Quay's fields and no codes", async () => {
    const res = await api("GET", "/superuser/apptokens", { token: admin });
    expect(res.status).toBe(200);
    expect(res.json.only_expiring).toBeNull();
    const titles = (res.json.tokens as Array<{ title: string }>).map((t) => t.title);
    expect(titles.sort()).toEqual(["gus-expired", "gus-later", "gus-soon", "olga-ci"]);
    // Quay `appspecifictokens.py` token_view: uuid, title, last_accessed, created, expiration.
    expect(res.json.tokens).toContainEqual({
      uuid: uuids["olga-ci"],
      title: "olga-ci",
      last_accessed: null,
      created: expect.stringMatching(/^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} -0000$/),
      expiration: null,
    });
    for (const token of res.json.tokens) expect(token).not.toHaveProperty("token_code");
  });

  it("with expiring=true, only those expiring soon (not the expired, not the far ones)", async () => {
    const res = await api("GET", "/superuser/apptokens?expiring=true", { token: admin });
    expect(res.status).toBe(200);
    expect(res.json.only_expiring).toBe(true);
    expect((res.json.tokens as Array<{ uuid: string }>).map((t) => t.uuid)).toEqual([uuids["gus-soon"]]);
    const all = await api("GET", "/superuser/apptokens?expiring=false", { token: admin });
    expect(all.json.only_expiring).toBe(false);
    expect(all.json.tokens).toHaveLength(4);
    expectQuayError(await api("GET", "/superuser/apptokens?expiring=maybe", { token: admin }), 400, "invalid_request");
  });

  it("refuses the anonymous (401), a non-superuser (403), a token without super:user (403)", async () => {
    expectQuayError(await api("GET", "/superuser/apptokens"), 401, "invalid_token");
    const olga = await tokenFor("olga", ["super:user", "user:admin"]);
    expectQuayError(await api("GET", "/superuser/apptokens", { token: olga }), 403, "insufficient_scope");
    const narrow = await tokenFor("admin", ["user:admin"]);
    expectQuayError(await api("GET", "/superuser/apptokens", { token: narrow }), 403, "insufficient_scope");
  });
});
