/**
 * An attacker's review of who may read `/metrics` (src/routes/metrics.ts): only a live superuser's
 * credential with the super:user scope, or a live scrape token. Not a superuser's token narrowed
 * to other scopes, not a superuser's robot, not a registry (/v2) token of a superuser, not the
 * credential of a superuser whose account was disabled.
 */
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { users } from "../../../src/db/schema";
import { basic, db, tokenFor, v2Token } from "../helpers/accounts";
import { api, initializeAdmin } from "../helpers/api";
import { request } from "../helpers/registry";

let admin: string;

beforeAll(async () => {
  admin = await initializeAdmin();
});

const scrape = (authorization: string) => request("GET", "/metrics", { headers: { Authorization: authorization } });

describe("/metrics refuses every credential but a live superuser's and a scrape token", () => {
  it("a superuser's OAuth token without super:user is refused (403)", async () => {
    const narrow = await tokenFor("admin", ["repo:read", "user:read"]);
    const res = await scrape(`Bearer ${narrow}`);
    expect(res.status).toBe(403);
    await res.text();
  });

  it("a superuser's robot is refused, by its token and by Basic", async () => {
    const robot = await api("PUT", "/user/robots/scraper", { token: admin, body: {} });
    expect(robot.status).toBe(201);
    for (const authorization of [`Bearer ${robot.json.token}`, basic(robot.json.name, robot.json.token)]) {
      const res = await scrape(authorization);
      expect([401, 403], authorization).toContain(res.status);
      expect(await res.text()).not.toContain("# TYPE");
    }
  });

  it("a registry token of a superuser is refused", async () => {
    const { token } = await v2Token(basic("admin", "admin-password-1"), "repository:admin/x:pull");
    const res = await scrape(`Bearer ${token}`);
    expect([401, 403]).toContain(res.status);
    expect(await res.text()).not.toContain("# TYPE");
  });

  it("a disabled superuser's token is refused", async () => {
    const token = await tokenFor("admin", ["super:user"]);
    expect((await scrape(`Bearer ${token}`)).status).toBe(200);
    await db().update(users).set({ enabled: false }).where(eq(users.username, "admin"));
    try {
      const res = await scrape(`Bearer ${token}`);
      expect([401, 403]).toContain(res.status);
      expect(await res.text()).not.toContain("# TYPE");
    } finally {
      await db().update(users).set({ enabled: true }).where(eq(users.username, "admin"));
    }
  });
});
