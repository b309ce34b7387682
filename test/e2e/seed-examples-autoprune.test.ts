/**
 * The curl examples of Quay's documentation for auto-prune policies (organizations, the user's
 * namespace, repositories), run as written with the `curl` binary against `npm start`, only the
 * placeholders filled in, and their answers checked against the documented output.
 *
 * Source (/work/shared/seeds): 003_3c33f0496aa7e411.txt ("003", a web page's text); each command
 * names its line. Its multi-line commands lost their line breaks (each "\ " was a "\" + newline)
 * and keep AsciiDoc's callout marks ("(1)"): both are reassembled as the documentation means them;
 * everything else is as written.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { runSuffix, seedCommands } from "./helpers/seed-commands";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const run = runSuffix();
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The token the commands carry: the admin's, or another user's where a section needs one. */
let token: string;
let adminToken: string;
const { mintToken, documented } = seedCommands(base, () => token);
let wharf: Awaited<ReturnType<typeof connectWharf>>;

const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(base, wharf.adminToken, method, pathname, body);

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  const admin = await wharf.credentialsFor("admin");
  adminToken = await mintToken(admin.username, admin.password, [
    "org:admin",
    "user:admin",
    "repo:admin",
    "repo:create",
  ]);
  token = adminToken;
});

/**
 * Quay's policy view (003:2901): `tagPattern` null and `tagPatternMatches` true when no pattern was
 * given. 003:2928 and 3014 show views without the two pattern fields, written before Quay had them.
 */
const policy = (
  uuid: string,
  method: string,
  value: number | string,
  tagPattern: string | null = null,
  tagPatternMatches = true,
) => ({ uuid, method, value, tagPattern, tagPatternMatches });
const uuidOf = (output: string): string => {
  const json = JSON.parse(output);
  expect(json).toEqual({ uuid: expect.stringMatching(UUID) });
  return json.uuid;
};
const byUuid = (policies: Array<{ uuid: string }>) => [...policies].sort((p, q) => p.uuid.localeCompare(q.uuid));

describe("Quay's documented auto-prune curl examples, unchanged", () => {
  const pruneOrg = `prunedocs${run}`;

  it("organization policies: create three, update one, list, delete one", async () => {
    token = adminToken;
    await api("POST", "/organization/", { name: pruneOrg });
    const v = { "<organization_name>": pruneOrg };
    // 003:2877
    const byCount = uuidOf(
      await documented(
        `curl -X POST -H "Authorization: Bearer <access_token>" -H "Content-Type: application/json" -d '{"method": "number_of_tags", "value": 10}' http://<quay-server.example.com>/api/v1/organization/<organization_name>/autoprunepolicy/`,
        v,
      ),
    );
    // 003:2879
    const byAge = uuidOf(
      await documented(
        `curl -X POST -H "Authorization: Bearer <access_token>" -H "Content-Type: application/json" -d '{ "method": "creation_date", "value": "7d"}' http://<quay-server.example.com>/api/v1/organization/<organization_name>/autoprunepolicy/`,
        v,
      ),
    );
    // 003:2885 (line breaks restored, the callout "(1)" dropped)
    const byPattern = uuidOf(
      await documented(
        `curl -X POST \\
 -H "Authorization: Bearer <bearer_token>" \\
 -H "Content-Type: application/json" \\
 -d '{ "method": "creation_date", "value": "7d", "tagPattern": "^v*", "tagPatternMatches": <true> }' \\
 "https://<quay-server.example.com>/api/v1/organization/<organization_name>/autoprunepolicy/"`,
        { ...v, "<true>": "true" },
      ),
    );
    // 003:2896: no output.
    const updated = await documented(
      `curl -X PUT -H "Authorization: Bearer <bearer_token>" -H "Content-Type: application/json" -d '{ "method": "creation_date", "value": "4d", "tagPattern": "^v*", "tagPatternMatches": true }' "<quay-server.example.com>/api/v1/organization/<organization_name>/autoprunepolicy/<uuid>"`,
      { ...v, "<uuid>": byPattern },
    );
    expect(updated).toBe("");
    // 003:2900
    const list = `curl -X GET -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/organization/<organization_name>/autoprunepolicy/`;
    const listed = JSON.parse(await documented(list, v));
    expect(Object.keys(listed)).toEqual(["policies"]);
    expect(byUuid(listed.policies)).toEqual(
      byUuid([
        policy(byCount, "number_of_tags", 10),
        policy(byAge, "creation_date", "7d"),
        policy(byPattern, "creation_date", "4d", "^v*", true),
      ]),
    );
    // 003:2904: the documented UUID is the one 003:2879's example output returned.
    const deleted = await documented(
      `curl -X DELETE -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/organization/<organization_name>/autoprunepolicy/73d64f05-d587-42d9-af6d-e726a4a80d6e`,
      { ...v, "73d64f05-d587-42d9-af6d-e726a4a80d6e": byAge },
    );
    expect(JSON.parse(deleted)).toEqual({ uuid: byAge });
    expect(byUuid(JSON.parse(await documented(list, v)).policies)).toEqual(
      byUuid([policy(byCount, "number_of_tags", 10), policy(byPattern, "creation_date", "4d", "^v*", true)]),
    );
  });

  it("the current user's policies: create, list, read, delete", async () => {
    // A user of its own, so no other test's namespace has a policy even for a moment.
    const user = await wharf.credentialsFor(`pruneuser${run}`);
    token = await mintToken(user.username, user.password, ["user:admin"]);
    try {
      // 003:2921
      const created = uuidOf(
        await documented(
          `curl -X POST -H "Authorization: Bearer <access_token>" -H "Content-Type: application/json" -d '{"method": "number_of_tags", "value": 10}' http://<quay-server.example.com>/api/v1/user/autoprunepolicy/`,
        ),
      );
      // 003:2925
      const list = `curl -X GET -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/user/autoprunepolicy/`;
      expect(JSON.parse(await documented(list))).toEqual({ policies: [policy(created, "number_of_tags", 10)] });
      // 003:2927: one policy by its UUID (the documented one is 003:2922's). The output shown
      // after it, a list, is 003:2925's; Quay answers one policy's view here.
      const documentedUuid = { "8c03f995-ca6f-4928-b98d-d75ed8c14859": created };
      const one = await documented(
        `curl -X GET -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/user/autoprunepolicy/8c03f995-ca6f-4928-b98d-d75ed8c14859`,
        documentedUuid,
      );
      expect(JSON.parse(one)).toEqual(policy(created, "number_of_tags", 10));
      // 003:2931
      const deleted = await documented(
        `curl -X DELETE -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/user/autoprunepolicy/8c03f995-ca6f-4928-b98d-d75ed8c14859`,
        documentedUuid,
      );
      expect(JSON.parse(deleted)).toEqual({ uuid: created });
      expect(JSON.parse(await documented(list))).toEqual({ policies: [] });
    } finally {
      token = adminToken;
    }
  });

  it("repository policies: create three, update one, list, read, delete", async () => {
    token = adminToken;
    await api("POST", "/repository", {
      namespace: pruneOrg,
      repository: "busybox",
      visibility: "private",
      description: "",
    });
    const v = {
      "<organization_name>": pruneOrg,
      "<repository_name>": "busybox",
      "<namespace>": pruneOrg,
      "<repo_name>": "busybox",
    };
    // 003:2988
    const byCount = uuidOf(
      await documented(
        `curl -X POST -H "Authorization: Bearer <access_token>" -H "Content-Type: application/json" -d '{"method": "number_of_tags","value": 2}' http://<quay-server.example.com>/api/v1/repository/<organization_name>/<repository_name>/autoprunepolicy/`,
        v,
      ),
    );
    // 003:2990
    const byAge = uuidOf(
      await documented(
        `curl -X POST -H "Authorization: Bearer <access_token>" -H "Content-Type: application/json" -d '{"method": "creation_date", "value": "7d"}' http://<quay-server.example.com>/api/v1/repository/<organization_name>/<repository_name>/autoprunepolicy/`,
        v,
      ),
    );
    // 003:2996 (line breaks restored, the callout "(1)" dropped)
    const byPattern = uuidOf(
      await documented(
        `curl -X POST \\
 -H "Authorization: Bearer <access_token>" \\
 -H "Content-Type: application/json" \\
 -d '{ "method": "<creation_date>", "value": "<7d>", "tagPattern": "<^test.>*", "tagPatternMatches": <false> }' \\
 "https://<quay-server.example.com>/api/v1/repository/<organization_name>/<repository_name>/autoprunepolicy/"`,
        { ...v, "<creation_date>": "creation_date", "<7d>": "7d", "<^test.>": "^test.", "<false>": "false" },
      ),
    );
    // 003:3007 (line breaks restored): no output. Its `"value": "5"` is a string, which Quay's
    // valid_value refuses for number_of_tags; Wharf takes a string of digits as the number, so
    // the documented command works as written, and the policy answers 5 from then on.
    const updated = await documented(
      `curl -X PUT \\
 -H "Authorization: Bearer <bearer_token>" \\
 -H "Content-Type: application/json" \\
 -d '{ "method": "number_of_tags", "value": "5", "tagPattern": "^test.*", "tagPatternMatches": true }' \\
 "https://quay-server.example.com/api/v1/repository/<namespace>/<repo_name>/autoprunepolicy/<uuid>"`,
      { ...v, "<uuid>": byPattern },
    );
    expect(updated).toBe("");
    // 003:3011
    const list = `curl -X GET -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/repository/<organization_name>/<repository_name>/autoprunepolicy/`;
    const listed = JSON.parse(await documented(list, v));
    expect(Object.keys(listed)).toEqual(["policies"]);
    expect(byUuid(listed.policies)).toEqual(
      byUuid([
        policy(byCount, "number_of_tags", 2),
        policy(byAge, "creation_date", "7d"),
        policy(byPattern, "number_of_tags", 5, "^test.*", true),
      ]),
    );
    // 003:3013: by the UUID 003:2991's example returned (its documented output is 003:3011's list).
    const documentedUuid = { ...v, "ce2bdcc0-ced2-4a1a-ac36-78a9c1bed8c7": byAge };
    const one = await documented(
      `curl -X GET -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/repository/<organization_name>/<repository_name>/autoprunepolicy/ce2bdcc0-ced2-4a1a-ac36-78a9c1bed8c7`,
      documentedUuid,
    );
    expect(JSON.parse(one)).toEqual(policy(byAge, "creation_date", "7d"));
    // 003:3017
    const deleted = await documented(
      `curl -X DELETE -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/repository/<organization_name>/<repository_name>/autoprunepolicy/ce2bdcc0-ced2-4a1a-ac36-78a9c1bed8c7`,
      documentedUuid,
    );
    expect(JSON.parse(deleted)).toEqual({ uuid: byAge });
    expect(byUuid(JSON.parse(await documented(list, v)).policies)).toEqual(
      byUuid([policy(byCount, "number_of_tags", 2), policy(byPattern, "number_of_tags", 5, "^test.*", true)]),
    );
  });

  it("policies on another user's repository, by one of its admins", async () => {
    // "You have admin privileges on the repository": its owner grants them to the admin.
    const owner = await wharf.credentialsFor(`pruneowner${run}`);
    const ownerToken = await mintToken(owner.username, owner.password, ["repo:admin", "repo:create"]);
    await apiCall(base, ownerToken, "POST", "/repository", {
      namespace: owner.username,
      repository: "app",
      visibility: "private",
      description: "",
    });
    await apiCall(base, ownerToken, "PUT", `/repository/${owner.username}/app/permissions/user/admin`, {
      role: "admin",
    });
    token = adminToken;
    const v = { "<user_account>": owner.username, "<user_repository>": "app" };
    // 003:3037
    const byCount = uuidOf(
      await documented(
        `curl -X POST -H "Authorization: Bearer <access_token>" -H "Content-Type: application/json" -d '{"method": "number_of_tags","value": 2}' https://<quay-server.example.com>/api/v1/repository/<user_account>/<user_repository>/autoprunepolicy/`,
        v,
      ),
    );
    // 003:3043 (line breaks restored)
    const byPattern = uuidOf(
      await documented(
        `curl -X POST \\
 -H "Authorization: Bearer <bearer_token>" \\
 -H "Content-Type: application/json" \\
 -d '{ "method": "creation_date", "value": "7d", "tagPattern": "^v*", "tagPatternMatches": true }' \\
 "http://<quay-server.example.com>/api/v1/repository/<user_account>/<user_repository>/autoprunepolicy/"`,
        v,
      ),
    );
    // 003:3048: no output.
    const updated = await documented(
      `curl -X PUT -H "Authorization: Bearer <bearer_token>" -H "Content-Type: application/json" -d '{ "method": "creation_date", "value": "4d", "tagPattern": "^test.", "tagPatternMatches": true }' "https://<quay-server.example.com>/api/v1/repository/<user_account>/<user_repository>/autoprunepolicy/<policy_uuid>"`,
      { ...v, "<policy_uuid>": byPattern },
    );
    expect(updated).toBe("");
    // 003:3052
    const list = `curl -X GET -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/repository/<user_account>/<user_repository>/autoprunepolicy/`;
    expect(byUuid(JSON.parse(await documented(list, v)).policies)).toEqual(
      byUuid([policy(byCount, "number_of_tags", 2), policy(byPattern, "creation_date", "4d", "^test.", true)]),
    );
    // 003:3054, by the UUID 003:3038's example returned.
    const one = await documented(
      `curl -X GET -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/repository/<user_account>/<user_repository>/autoprunepolicy/7726f79c-cbc7-490e-98dd-becdc6fefce7`,
      { ...v, "7726f79c-cbc7-490e-98dd-becdc6fefce7": byCount },
    );
    expect(JSON.parse(one)).toEqual(policy(byCount, "number_of_tags", 2));
    // 003:3058
    const deleted = await documented(
      `curl -X DELETE -H "Authorization: Bearer <access_token>" http://<quay-server.example.com>/api/v1/repository/<user_account>/<user_repository>/autoprunepolicy/<policy_uuid>`,
      { ...v, "<policy_uuid>": byCount },
    );
    expect(JSON.parse(deleted)).toEqual({ uuid: byCount });
    expect(JSON.parse(await documented(list, v))).toEqual({
      policies: [policy(byPattern, "creation_date", "4d", "^test.", true)],
    });
  });
});
