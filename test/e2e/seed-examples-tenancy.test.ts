/**
 * The curl examples of Quay's documentation for the tenancy endpoints (organizations,
 * repositories, teams and their members, invitations and permissions, default permissions,
 * repository user permissions), run as written with the `curl` binary against `npm start`, only the
 * placeholders filled in, and their answers checked against the documented output: same keys and
 * value types, per-run values (ids, dates, avatar hashes) by pattern.
 *
 * Sources (/work/shared/seeds): 002_4f8f4aa6821a0fec.txt ("002"), 000_48d23e0a46334360.txt
 * ("000"), 003_3c33f0496aa7e411.txt ("003"); each command names its line. The PDF text wraps lines
 * mid-URL ("https://<quay-" + newline + "server.example.com>…", "<em" + newline + "ail>") and puts
 * spaces after some line-ending backslashes ("\  "), which would end the command there: the
 * commands below are reassembled as the documentation means them, everything else as written.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { pushOneLayerImage } from "./helpers/one-layer-image";
import { QUAY_DATE, runSuffix, seedCommands } from "./helpers/seed-commands";
import { connectWharf } from "./helpers/server";
import type { Credentials } from "./helpers/registry-auth";

const base = inject("wharfUrl");
const run = runSuffix();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const DIGEST = /^sha256:[0-9a-f]{64}$/;

let token: string;
const { hostPort, mintToken, documented } = seedCommands(base, () => token);
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let admin: Credentials;
let testuser: Credentials;

/** Per-run names: an organization, a user (made with the superuser API), repositories. */
const org = `testorg${run}`;
const repo = `newrepo${run}`;
const userRobot = `test${run}`;

/** Quay's avatar JSON: the hash and color are the registry's own. */
const avatarOf = (name: string, kind: "user" | "robot" | "team") => ({
  name,
  hash: expect.stringMatching(/^[0-9a-f]{64}$/),
  color: expect.stringMatching(/^#[0-9a-f]{6}$/),
  kind,
});
/** Teams named as in the documentation have the documented avatars, hash and color alike (002:475, 002:1305). */
const OWNERS_AVATAR = {
  name: "owners",
  hash: "6f0e3a8c0eb46e8834b43b03374ece43a030621d92a7437beb48f871e90f8d90",
  color: "#c7c7c7",
  kind: "team",
};
const EXAMPLE_TEAM_AVATAR = {
  name: "example_team",
  hash: "dec209fd7312a2284b689d4db3135e2846f27e0f40fa126776a0ce17366bc989",
  color: "#e7ba52",
  kind: "team",
};

/** Setup the examples presuppose, done through the API (not part of what is checked). */
const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(base, wharf.adminToken, method, pathname, body);

/** Pushes a one-layer image as `repository:tag` over /v2, logged in as the admin; its manifest digest. */
const pushTag = (repository: string, tag: string) => pushOneLayerImage(base, hostPort, admin, repository, tag);

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  admin = await wharf.credentialsFor("admin");
  testuser = await wharf.credentialsFor(`testuser${run}`);
  token = await mintToken(admin.username, admin.password, [
    "super:user",
    "org:admin",
    "user:admin",
    "repo:admin",
    "repo:create",
  ]);
});

describe("Quay's documented tenancy curl examples, unchanged", () => {
  /**
   * Quay's organization JSON for its admin (002:475), with FEATURE_QUOTA_MANAGEMENT's `quotas` and
   * `quota_report` (003:2576; no quota set here, the bytes whatever the pushes hold).
   */
  const adminOrgView = (
    email: string | null,
    invoiceEmail: boolean,
    invoiceAddress: string | null,
    owners: { repo_count: number; member_count: number },
  ) => ({
    name: org,
    email,
    avatar: avatarOf(org, "user"),
    is_admin: true,
    is_member: true,
    teams: {
      owners: {
        name: "owners",
        description: "",
        role: "admin",
        avatar: OWNERS_AVATAR,
        can_view: true,
        ...owners,
        is_synced: false,
      },
    },
    ordered_teams: ["owners"],
    invoice_email: invoiceEmail,
    invoice_email_address: invoiceAddress,
    tag_expiration_s: 1209600,
    is_free_account: true,
    quotas: [],
    quota_report: {
      quota_bytes: expect.any(Number),
      configured_quota: null,
      running_backfill: "complete",
      backfill_status: "complete",
    },
  });
  const contact = `new-contact-${run}@test-org.com`;
  const billing = `billing-${run}@test-org.com`;

  it("organization: create, change its details, its repositories, read it", async () => {
    // 002:448
    const created = await documented(
      `curl -X POST -H "Authorization: Bearer <bearer_token>" -H "Content-Type: application/json" -d '{
  "name": "<new_organization_name>"
}' "https://<quay-server.example.com>/api/v1/organization/"`,
      { "<new_organization_name>": org },
    );
    expect(JSON.parse(created)).toBe("Created");

    // 002:462
    const updated = await documented(
      `curl -X PUT "https://<quay-server.example.com>/api/v1/organization/<orgname>" \\
-H "Authorization: Bearer <access_token>" \\
-H "Content-Type: application/json" \\
-d '{
  "email": "<org_email>",
  "invoice_email": <true/false>,
  "invoice_email_address": "<billing_email>"
}'`,
      { "<orgname>": org, "<org_email>": contact, "<true/false>": "true", "<billing_email>": billing },
    );
    expect(JSON.parse(updated)).toEqual(adminOrgView(contact, true, billing, { repo_count: 0, member_count: 1 }));

    // 000:1734 (no output documented there: the answer is 002:681's); the documented host is a
    // public registry's, written here as the docs' placeholder.
    const createdRepo = await documented(
      `curl -X POST https://<quay-server.example.com>/api/v1/repository \\
    -H 'Authorization: Bearer {token}' \\
    -H 'Content-Type: application/json' \\
    -d '{"namespace":"yournamespace", "repository":"yourreponame",
    "description":"descriptionofyourrepo", "visibility": "private"}' | jq`,
      { yournamespace: org, yourreponame: "ubuntu" },
    );
    expect(JSON.parse(createdRepo)).toEqual({ namespace: org, name: "ubuntu", kind: "image" });
    await api("POST", "/repository", { namespace: org, repository: "api-repo", visibility: "public", description: "" });
    await pushTag(`${org}/ubuntu`, "18.04");
    await pushTag(`${org}/api-repo`, "latest");

    // 003:2545 and 003:2572 (the same request, with and without `| jq`), with FEATURE_QUOTA_MANAGEMENT
    // (on by default) the documented `quota_report`: no quota configured here.
    const listItem = (name: string, isPublic: boolean, description: string) => ({
      namespace: org,
      name,
      description,
      is_public: isPublic,
      kind: "image",
      state: "NORMAL",
      quota_report: { quota_bytes: expect.any(Number), configured_quota: null },
      last_modified: expect.any(Number),
      // The week's action-log entries, which the EVENTS consumer writes after the pushes commit:
      // 0 or more depending on whether it has run yet (Quay's documented output shows 0).
      popularity: expect.any(Number),
      is_starred: false,
    });
    // 003:2545 and 2572; the documented host (a sample deployment's) is written as the placeholder.
    for (const pipe of [" | jq", ""]) {
      const listed = JSON.parse(
        await documented(
          `curl -k -X GET -H "Authorization: Bearer <token>" -H 'Content-Type: application/json' 'https://<quay-server.example.com>/api/v1/repository?last_modified=true&namespace=testorg&popularity=true&public=true'${pipe}`,
          { testorg: org },
        ),
      );
      expect(listed).toEqual({
        repositories: [listItem("ubuntu", false, "descriptionofyourrepo"), listItem("api-repo", true, "")],
      });
      for (const item of listed.repositories) {
        expect(Number.isInteger(item.last_modified)).toBe(true);
        expect(Number.isInteger(item.popularity) && item.popularity >= 0).toBe(true);
      }
    }

    // 003:2576 (the documented output elides all but the name and quota fields: the rest is 002:475's;
    // the documented host, a sample deployment's, is written as the placeholder)
    const read = await documented(
      `curl -k -X GET -H "Authorization: Bearer <token>" -H 'Content-Type: application/json' 'https://<quay-server.example.com>/api/v1/organization/testorg' | jq`,
      { testorg: org },
    );
    expect(JSON.parse(read)).toEqual(adminOrgView(contact, true, billing, { repo_count: 0, member_count: 1 }));
  });

  it("teams: create, repository permissions, members, email invitations, role, delete", async () => {
    const values = {
      "<organization_name>": org,
      "<team_name>": "example_team",
      "<member_name>": testuser.username,
      "<email>": `invitee-${run}@example.com`,
      "<role>": "member",
    };
    // 002:1297
    const created = await documented(
      `curl -k -X PUT -H 'Accept: application/json' -H 'Content-Type: application/json' -H "Authorization: Bearer <bearer_token>" --data '{"role": "creator"}' https://<quay-server.example.com>/api/v1/organization/<organization_name>/team/<team_name>`,
      values,
    );
    expect(JSON.parse(created)).toEqual({
      name: "example_team",
      description: "",
      can_view: true,
      role: "creator",
      avatar: EXAMPLE_TEAM_AVATAR,
      new_team: true,
    });

    // 002:1491 — "your team must have been added to a repository for this command to return information".
    await api("PUT", `/repository/${org}/api-repo/permissions/team/example_team`, { role: "admin" });
    const permissions = await documented(
      `curl -X GET \\
  -H "Authorization: Bearer <your_access_token>" \\
  "<quay-server.example.com>/api/v1/organization/<organization_name>/team/<team_name>/permissions"`,
      values,
    );
    expect(JSON.parse(permissions)).toEqual({
      permissions: [{ repository: { name: "api-repo", is_public: true }, role: "admin" }],
    });

    // 002:1408
    const added = await documented(
      `curl -X PUT \\
  -H "Authorization: Bearer <your_access_token>" \\
  "<quay-server.example.com>/api/v1/organization/<organization_name>/team/<team_name>/members/<member_name>"`,
      values,
    );
    expect(JSON.parse(added)).toEqual({
      name: testuser.username,
      kind: "user",
      is_robot: false,
      avatar: avatarOf(testuser.username, "user"),
      invited: false,
    });

    // A robot in the team too, as in the documented member list.
    await api("PUT", `/organization/${org}/robots/test`);
    await api("PUT", `/organization/${org}/team/example_team/members/${org}+test`);

    // 002:1426 (its code block is split in two by the PDF)
    const removed = await documented(
      `curl -X DELETE \\
-H "Authorization: Bearer <your_access_token>" \\
"<quay-server.example.com>/api/v1/organization/<organization_name>/team/<team_name>/members/<member_name>"`,
      values,
    );
    expect(removed).toBe("");

    // 002:1439, for the team (the user is gone, the robot stays) and for `owners` as documented.
    const listMembers = `curl -X GET \\
-H "Authorization: Bearer <your_access_token>" \\
"<quay-server.example.com>/api/v1/organization/<organization_name>/team/<team_name>/members"`;
    const robotMember = {
      name: `${org}+test`,
      kind: "user",
      is_robot: true,
      avatar: avatarOf(`${org}+test`, "robot"),
      invited: false,
    };
    expect(JSON.parse(await documented(listMembers, values))).toEqual({
      name: "example_team",
      members: [robotMember],
      can_edit: true,
    });
    expect(JSON.parse(await documented(listMembers, { ...values, "<team_name>": "owners" }))).toEqual({
      name: "owners",
      members: [{ name: "admin", kind: "user", is_robot: false, avatar: avatarOf("admin", "user"), invited: false }],
      can_edit: true,
    });

    // 002:1460 (no output documented: Quay's `invite_view` of an email invitation)
    const invited = await documented(
      `curl -X PUT \\
-H "Authorization: Bearer <your_access_token>" \\
"<quay-server.example.com>/api/v1/organization/<organization_name>/team/<team_name>/invite/<email>"`,
      values,
    );
    expect(JSON.parse(invited)).toEqual({
      email: values["<email>"],
      kind: "invite",
      avatar: avatarOf(values["<email>"], "user"),
      invited: true,
    });

    // 002:1470
    const uninvited = await documented(
      `curl -X DELETE \\
-H "Authorization: Bearer <your_access_token>" \\
"<quay-server.example.com>/api/v1/organization/<organization_name>/team/<team_name>/invite/<email>"`,
      values,
    );
    expect(uninvited).toBe("");

    // 002:1506
    const role = await documented(
      `curl -X PUT \\
  -H "Authorization: Bearer <your_access_token>" \\
  -H "Content-Type: application/json" \\
  -d '{
    "role": "<role>"
  }' \\
  "<quay-server.example.com>/api/v1/organization/<organization_name>/team/<team_name>"`,
      values,
    );
    expect(JSON.parse(role)).toEqual({
      name: "example_team",
      description: "",
      can_view: true,
      role: "member",
      avatar: EXAMPLE_TEAM_AVATAR,
      new_team: false,
    });

    // 002:1536
    const deleted = await documented(
      `curl -X DELETE \\
  -H "Authorization: Bearer <your_access_token>" \\
  "<quay-server.example.com>/api/v1/organization/<organization_name>/team/<team_name>"`,
      values,
    );
    expect(deleted).toBe("");
  });

  it("default permissions: create, change the role, delete, list", async () => {
    const values: Record<string, string> = {
      "<organization_name>": org,
      "<admin_read_or_write>": "admin",
      "<username>": testuser.username,
      "<robot_name>": `${org}+test`,
    };
    // 002:1580 (the header is wrapped after "Content-Type:")
    const created = JSON.parse(
      await documented(
        `curl -X POST -H "Authorization: Bearer <bearer_token>" -H "Content-Type: application/json" --data '{
  "role": "<admin_read_or_write>",
  "delegate": {
    "name": "<username>",
    "kind": "user"
  },
  "activating_user": {
    "name": "<robot_name>"
  }
}' https://<quay-server.example.com>/api/v1/organization/<organization_name>/prototypes`,
        values,
      ),
    );
    const prototype = (role: string) => ({
      activating_user: {
        name: `${org}+test`,
        is_robot: true,
        kind: "user",
        is_org_member: true,
        avatar: avatarOf(`${org}+test`, "robot"),
      },
      delegate: {
        name: testuser.username,
        is_robot: false,
        kind: "user",
        is_org_member: false,
        avatar: avatarOf(testuser.username, "user"),
      },
      role,
      id: expect.stringMatching(UUID),
    });
    expect(created).toEqual(prototype("admin"));
    values["<prototypeid>"] = created.id;
    values["<prototype_id>"] = created.id;

    // 002:1608
    const changed = await documented(
      `curl -X PUT \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Content-Type: application/json" \\
--data '{
  "role": "write"
}' \\
https://<quay-server.example.com>/api/v1/organization/<organization_name>/prototypes/<prototypeid>`,
      values,
    );
    expect(JSON.parse(changed)).toEqual({ ...prototype("write"), id: created.id });

    // 002:1633
    const deleted = await documented(
      `curl -X DELETE \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
https://<quay-server.example.com>/api/v1/organization/<organization_name>/prototypes/<prototype_id>`,
      values,
    );
    expect(deleted).toBe("");

    // 002:1645
    const listed = await documented(
      `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
https://<quay-server.example.com>/api/v1/organization/<organization_name>/prototypes`,
      values,
    );
    expect(JSON.parse(listed)).toEqual({ prototypes: [] });
  });

  it("repositories: create, read with tags, user permissions, delete", async () => {
    const robot = `admin+${userRobot}`;
    const values = {
      "<new_repository_name>": repo,
      "<private>": "private",
      "<This is a description of the new repository>": "This is a description of the new repository",
      "<namespace>": "admin",
      "<repository_name>": repo,
      "<repository>": repo,
      "<username>": robot,
    };
    // 002:667. The documented body is not JSON: its commas are inside the strings
    // (`"<new_repository_name>,"` and `"<private>,"`); minimal fix: `"<new_repository_name>",` and `"<private>",`.
    const created = await documented(
      `curl -X POST \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Content-Type: application/json" \\
-d '{
  "repository": "<new_repository_name>",
  "visibility": "<private>",
  "description": "<This is a description of the new repository>."
}' \\
"https://quay-server.example.com/api/v1/repository"`,
      values,
    );
    expect(JSON.parse(created)).toEqual({ namespace: "admin", name: repo, kind: "image" });

    const digests = {
      example: await pushTag(`admin/${repo}`, "example"),
      test: await pushTag(`admin/${repo}`, "test"),
    };

    // 002:1794. The PDF breaks the URL after its "?": the query is `?includeTags=true`.
    const view = JSON.parse(
      await documented(
        `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>?includeTags=true`,
        values,
      ),
    );
    const tag = (name: keyof typeof digests) => ({
      name,
      size: expect.any(Number),
      last_modified: expect.stringMatching(QUAY_DATE),
      manifest_digest: digests[name],
    });
    expect(view).toEqual({
      namespace: "admin",
      name: repo,
      kind: "image",
      description: "This is a description of the new repository.",
      is_public: false,
      is_organization: false,
      is_starred: false,
      status_token: expect.any(String),
      trust_enabled: false,
      tag_expiration_s: 1209600,
      is_free_account: true,
      state: "NORMAL",
      tags: { example: tag("example"), test: tag("test") },
      can_write: true,
      can_admin: true,
    });
    for (const t of Object.values(view.tags) as Array<{ size: number; manifest_digest: string }>) {
      expect(Number.isInteger(t.size) && t.size > 0).toBe(true);
      expect(t.manifest_digest).toMatch(DIGEST);
    }
    // Quay's `status_token` of a private repository is its badge token, a UUID (documented:
    // "d8f5e074-690a-46d7-83c8-8d4e3d3d0715"); Wharf derives it from WHARF_SECRET_KEY.
    expect(view.status_token, "status_token of a private repository").toMatch(UUID);

    // The documented permission is a robot's (`quayadmin+test`): one of the admin's robots here.
    await api("PUT", `/user/robots/${userRobot}`);

    // 002:1692
    const granted = await documented(
      `curl -X PUT \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Content-Type: application/json" \\
  -d '{"role": "admin"}' \\
  https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository>/permissions/user/<username>`,
      values,
    );
    expect(JSON.parse(granted)).toEqual({
      role: "admin",
      name: robot,
      is_robot: true,
      avatar: avatarOf(robot, "robot"),
    });

    // 002:1712
    const revoked = await documented(
      `curl -X DELETE \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Accept: application/json" \\
  https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository>/permissions/user/<username>`,
      values,
    );
    expect(revoked).toBe("");

    // 002:1722 (with its trailing slash, as documented)
    const gone = await documented(
      `curl -X GET \\
  -H "Authorization: Bearer <bearer_token>" \\
  -H "Accept: application/json" \\
  https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository>/permissions/user/<username>/`,
      values,
    );
    // Quay's DataModelException answer is `{"message": …}` alone; Wharf adds its error fields.
    expect(JSON.parse(gone)).toMatchObject({ message: "User does not have permission for repo." });
    await api("DELETE", `/user/robots/${userRobot}`);

    // 002:715
    const deleted = await documented(
      `curl -X DELETE -H "Authorization: Bearer <bearer_token>" "<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>"`,
      values,
    );
    expect(deleted).toBe("");

    // 002:721
    const missing = await documented(
      `curl -X GET -H "Authorization: Bearer <bearer_token>" "<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>"`,
      values,
    );
    expect(JSON.parse(missing)).toEqual({
      detail: "Not Found",
      error_message: "Not Found",
      error_type: "not_found",
      title: "not_found",
      type: `${base}/api/v1/error/not_found`,
      status: 404,
    });
  });

  it("organization: delete, then it is not found", async () => {
    const values = { "<organization_name>": org };
    // 002:538
    const deleted = await documented(
      `curl -X DELETE \\
-H "Authorization: Bearer <bearer_token>" \\
"https://<quay-server.example.com>/api/v1/organization/<organization_name>"`,
      values,
    );
    expect(deleted).toBe("");

    // 002:546
    const missing = await documented(
      `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
"<quay-server.example.com>/api/v1/organization/<organization_name>"`,
      values,
    );
    expect(JSON.parse(missing)).toEqual({
      detail: "Not Found",
      error_message: "Not Found",
      error_type: "not_found",
      title: "not_found",
      type: `${base}/api/v1/error/not_found`,
      status: 404,
    });
  });
});
