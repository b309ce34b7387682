import { and, eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { teamInvites } from "../../../src/db/schema";
import { findOrganization } from "../../../src/identity/organizations";
import { findTeam } from "../../../src/identity/teams";
import { findUser } from "../../../src/identity/users";
import { sha256Hex } from "../../../src/lib/encoding";
import { db, invitationCode, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";

let admin: string;
let owner: string;
let ivy: string;
let jon: string;

/** Invites `email` to `team` of `labs` as owen, returning the code Quay would mail. */
const codeFor = (team: string, email: string) => invitationCode("labs", team, "owen", email);

const memberNames = async (team: string) =>
  (
    (await api("GET", `/organization/labs/team/${team}/members`, { token: owner })).json.members as Array<{
      name: string;
    }>
  ).map((m) => m.name);

beforeAll(async () => {
  admin = await initializeAdmin();
  for (const name of ["owen", "ivy", "jon"])
    await api("POST", "/superuser/users", { token: admin, body: { username: name, email: `${name}@example.com` } });
  owner = await tokenFor("owen", ["org:admin", "user:admin"]);
  ivy = await tokenFor("ivy", ["user:admin", "org:admin"]);
  jon = await tokenFor("jon", ["user:admin"]);
  await api("POST", "/organization/", { token: owner, body: { name: "labs" } });
  for (const team of ["research", "ops", "qa"])
    await api("PUT", `/organization/labs/team/${team}`, { token: owner, body: { role: "member" } });
});

describe("team invitations by email", () => {
  it("invites an address with Quay's invite JSON, which the members list shows only when asked and to admins", async () => {
    const res = await api("PUT", "/organization/labs/team/research/invite/Ivy@Example.com", { token: owner });
    expect(res.status).toBe(200);
    // The code is mailed in Quay; it is in no answer.
    expect(res.json).toEqual({
      email: "ivy@example.com",
      kind: "invite",
      avatar: expect.objectContaining({ name: "ivy@example.com", kind: "user" }),
      invited: true,
    });
    const stored = await db().select().from(teamInvites).where(eq(teamInvites.email, "ivy@example.com")).all();
    expect(stored).toHaveLength(1);
    expect(stored[0]!.codeHash).toMatch(/^[0-9a-f]{64}$/);

    expect((await api("GET", "/organization/labs/team/research/members", { token: owner })).json.members).toEqual([]);
    const pending = await api("GET", "/organization/labs/team/research/members?includePending=true", { token: owner });
    expect(pending.json).toEqual({ name: "research", members: [res.json], can_edit: true });
    expectQuayError(
      await api("PUT", "/organization/labs/team/research/invite/not-an-email", { token: owner }),
      400,
      "invalid_request",
    );
  });

  it("cancels an email invitation (204), then answers 404", async () => {
    await api("PUT", "/organization/labs/team/qa/invite/gone@example.com", { token: owner });
    expect((await api("DELETE", "/organization/labs/team/qa/invite/gone@example.com", { token: owner })).status).toBe(
      204,
    );
    expectQuayError(
      await api("DELETE", "/organization/labs/team/qa/invite/gone@example.com", { token: owner }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("DELETE", "/organization/labs/team/qa/invite/nonsense", { token: owner }),
      404,
      "not_found",
    );
  });

  it("lets the holder of the invited email accept: they join every team they were invited to in the organization", async () => {
    const research = await codeFor("research", "ivy@example.com");
    await codeFor("ops", "ivy@example.com");
    const res = await api("PUT", `/teaminvite/${research}`, { token: ivy });
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ org: "labs", team: "research" });
    expect(await memberNames("research")).toEqual(["ivy"]);
    expect(await memberNames("ops")).toEqual(["ivy"]);
    expect(
      (await api("GET", "/organization/labs/team/ops/members?includePending=true", { token: owner })).json.members,
    ).toHaveLength(1);
    // The code is spent.
    expectQuayError(
      await api("PUT", `/teaminvite/${research}`, { token: ivy }),
      400,
      "invalid_request",
      "Invalid confirmation code.",
    );
    const view = await api("GET", "/organization/labs", { token: ivy });
    expect(view.json).toMatchObject({ is_member: true, is_admin: false });
  });

  it("refuses a code for someone else's email, an unknown code, and callers without user:admin", async () => {
    const code = await codeFor("qa", "someone@example.com");
    const wrong = await api("PUT", `/teaminvite/${code}`, { token: jon });
    expectQuayError(
      wrong,
      400,
      "invalid_request",
      'This invite is intended for email "someone@example.com". Please login to that account and try again.',
    );
    expect(wrong.json.message).toBe(wrong.json.error_message);
    expectQuayError(
      await api("DELETE", `/teaminvite/${code}`, { token: jon }),
      400,
      "invalid_request",
      "Invalid confirmation code.",
    );
    expectQuayError(
      await api("PUT", "/teaminvite/NOSUCHCODE", { token: jon }),
      400,
      "invalid_request",
      "Invalid confirmation code.",
    );
    expectQuayError(await api("PUT", `/teaminvite/${code}`), 401, "invalid_token");
    expectQuayError(
      await api("PUT", `/teaminvite/${code}`, { token: await tokenFor("jon", ["user:read", "org:admin"]) }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("DELETE", `/teaminvite/${code}`), 401, "invalid_token");
    expect(await memberNames("qa")).toEqual([]);
  });

  it("renews a pending invitation with a new code: the old one stops working", async () => {
    const first = await codeFor("qa", "jon@example.com");
    const second = await codeFor("qa", "jon@example.com");
    expect(second).not.toBe(first);
    expect(await db().select().from(teamInvites).where(eq(teamInvites.email, "jon@example.com")).all()).toHaveLength(1);
    expectQuayError(
      await api("PUT", `/teaminvite/${first}`, { token: jon }),
      400,
      "invalid_request",
      "Invalid confirmation code.",
    );
    // Declining ends it.
    expect((await api("DELETE", `/teaminvite/${second}`, { token: jon })).status).toBe(204);
    expectQuayError(
      await api("PUT", `/teaminvite/${second}`, { token: jon }),
      400,
      "invalid_request",
      "Invalid confirmation code.",
    );
    expect(await memberNames("qa")).toEqual([]);
  });

  it("keeps an invitation naming an account for that account; removing the member cancels it", async () => {
    // Wharf, like Quay without FEATURE_MAILING, adds people directly, so such invitations come
    // only from the data model (Quay's REQUIRE_TEAM_INVITE); the API handles them as Quay does.
    const org = (await findOrganization(db(), "labs"))!;
    const qa = (await findTeam(db(), org, "qa"))!;
    const jonUser = (await findUser(db(), "jon"))!;
    const code = "USERINVITECODE";
    await db()
      .insert(teamInvites)
      .values({ teamId: qa.id, userId: jonUser.id, codeHash: await sha256Hex(code) });
    const pending = await api("GET", "/organization/labs/team/qa/members?includePending=true", { token: owner });
    expect(pending.json.members).toContainEqual({
      name: "jon",
      kind: "user",
      is_robot: false,
      avatar: expect.objectContaining({ name: "jon" }),
      invited: true,
    });
    expectQuayError(
      await api("PUT", `/teaminvite/${code}`, { token: ivy }),
      400,
      "invalid_request",
      'This invite is intended for user "jon". Please login to that account and try again.',
    );
    expect((await api("DELETE", "/organization/labs/team/qa/members/jon", { token: owner })).status).toBe(204);
    expect(
      await db()
        .select()
        .from(teamInvites)
        .where(and(eq(teamInvites.teamId, qa.id), eq(teamInvites.userId, jonUser.id)))
        .all(),
    ).toEqual([]);
    expectQuayError(
      await api("PUT", `/teaminvite/${code}`, { token: jon }),
      400,
      "invalid_request",
      "Invalid confirmation code.",
    );
  });

  it("answers invitation endpoints to the organization's admins only", async () => {
    expectQuayError(
      await api("PUT", "/organization/labs/team/qa/invite/x@example.com", { token: ivy }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("DELETE", "/organization/labs/team/qa/invite/x@example.com", { token: ivy }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("PUT", "/organization/labs/team/qa/invite/x@example.com", {
        token: await tokenFor("owen", ["user:admin"]),
      }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("PUT", "/organization/labs/team/nope/invite/x@example.com", { token: owner }),
      404,
      "not_found",
    );
    // ivy, a member of research, lists it without pending invitations.
    await api("PUT", "/organization/labs/team/research/invite/later@example.com", { token: owner });
    const seen = await api("GET", "/organization/labs/team/research/members?includePending=true", { token: ivy });
    expect(seen.json).toMatchObject({
      can_edit: false,
      members: [expect.objectContaining({ name: "ivy", invited: false })],
    });
    expect(seen.json.members).toHaveLength(1);
  });
});
