/**
 * The curl examples of Quay's documentation for the identity endpoints, run as written (only the
 * placeholders filled in) with the `curl` binary against `npm start`, and their answers checked
 * against the documented output. The bearer token is minted the way Quay's UI mints one
 * (./helpers/seed-commands.ts).
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { QUAY_DATE, runSuffix, seedCommands } from "./helpers/seed-commands";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const run = runSuffix();

let token: string;
const { mintToken, documented } = seedCommands(base, () => token);

beforeAll(async () => {
  const wharf = await connectWharf(base, inject("wharfStateDir"));
  const admin = await wharf.credentialsFor("admin");
  token = await mintToken(admin.username, admin.password, ["super:user", "org:admin", "user:admin", "repo:admin"]);
});

describe("Quay's documented curl examples, unchanged", () => {
  it("superuser: create a user, list users, delete the user", async () => {
    const created = JSON.parse(
      await documented(
        `curl -X POST -H "Authorization: Bearer <bearer_token>" -H "Content-Type: application/json" -d '{
  "username": "newuser",
  "email": "newuser@example.com"
}' "https://<quay-server.example.com>/api/v1/superuser/users/"`,
        { newuser: `newuser${run}` },
      ),
    );
    expect(created).toEqual({
      username: `newuser${run}`,
      email: `newuser${run}@example.com`,
      password: expect.stringMatching(/^[A-Z0-9]{32}$/),
      encrypted_password: expect.any(String),
    });
    const listed = JSON.parse(
      await documented(
        `curl -X GET -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/superuser/users/"`,
      ),
    );
    expect(listed.users).toContainEqual({
      kind: "user",
      name: `newuser${run}`,
      username: `newuser${run}`,
      email: `newuser${run}@example.com`,
      verified: true,
      avatar: {
        name: `newuser${run}`,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        color: expect.stringMatching(/^#[0-9a-f]{6}$/),
        kind: "user",
      },
      super_user: false,
      // Quay's superuser_user_view (endpoints/api/superuser.py) also names global read-only superusers.
      global_readonly_super_user: false,
      enabled: true,
      // With FEATURE_QUOTA_MANAGEMENT (superuser_models_interface.py User.to_dict): no quota, nothing pushed.
      quotas: [],
      quota_report: {
        quota_bytes: 0,
        configured_quota: null,
        running_backfill: "complete",
        backfill_status: "complete",
      },
    });
    expect(
      await documented(
        `curl -X DELETE -H "Authorization: Bearer <insert token here>" https://<quay-server.example.com>/api/v1/superuser/users/<username>`,
        { "<username>": `newuser${run}` },
      ),
    ).toBe("");
  });

  it("organization and robot accounts: create, regenerate, list, delete, look up", async () => {
    const org = `robotorg${run}`;
    const values = {
      "<new_organization_name>": org,
      "<organization_name>": org,
      "<orgname>": org,
      "<robot_name>": "robot-name",
      "<robot_shortname>": "robot-name",
    };
    expect(
      JSON.parse(
        await documented(
          `curl -X POST -H "Authorization: Bearer <bearer_token>" -H "Content-Type: application/json" -d '{
  "name": "<new_organization_name>"
}' "https://<quay-server.example.com>/api/v1/organization/"`,
          values,
        ),
      ),
    ).toBe("Created");
    const robotShape = (name: string) => ({
      name,
      created: expect.stringMatching(QUAY_DATE),
      last_accessed: null,
      description: "",
      token: expect.stringMatching(/^[A-Z0-9]{64}$/),
      unstructured_metadata: null,
    });
    const orgRobot = JSON.parse(
      await documented(
        `curl -X PUT -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/organization/<organization_name>/robots/<robot_name>"`,
        values,
      ),
    );
    expect(orgRobot).toEqual(robotShape(`${org}+robot-name`));
    const userRobot = JSON.parse(
      await documented(
        `curl -X PUT -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/user/robots/<robot_name>"`,
        values,
      ),
    );
    expect(userRobot).toEqual(robotShape("admin+robot-name"));

    const regenerated = JSON.parse(
      await documented(
        `curl -X POST \\
-H "Authorization: Bearer <bearer_token>" \\
"<quay-server.example.com>/api/v1/organization/<orgname>/robots/<robot_shortname>/regenerate"`,
        values,
      ),
    );
    expect(regenerated).toMatchObject({
      name: `${org}+robot-name`,
      created: expect.stringMatching(QUAY_DATE),
      last_accessed: null,
      description: "",
    });
    expect(regenerated.token).not.toBe(orgRobot.token);
    const userRegenerated = JSON.parse(
      await documented(
        `curl -X POST \\
-H "Authorization: Bearer <bearer_token>" \\
"<quay-server.example.com>/api/v1/user/robots/<robot_shortname>/regenerate"`,
        values,
      ),
    );
    expect(userRegenerated.token).not.toBe(userRobot.token);

    expect(
      await documented(
        `curl -X DELETE \\
  -H "Authorization: Bearer <bearer_token>" \\
  "<quay-server.example.com>/api/v1/organization/<organization_name>/robots/<robot_shortname>"`,
        values,
      ),
    ).toBe("");
    expect(
      JSON.parse(
        await documented(
          `curl -X GET -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/organization/<organization_name>/robots"`,
          values,
        ),
      ),
    ).toEqual({ robots: [] });
    expect(
      await documented(
        `curl -X DELETE \\
-H "Authorization: Bearer <bearer_token>" \\
"<quay-server.example.com>/api/v1/user/robots/<robot_shortname>"`,
        values,
      ),
    ).toBe("");
    const missing = JSON.parse(
      await documented(
        `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
"<quay-server.example.com>/api/v1/user/robots/<robot_shortname>"`,
        values,
      ),
    );
    expect(missing).toMatchObject({ message: "Could not find robot with specified username" });
  });
});
