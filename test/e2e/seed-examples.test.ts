/**
 * The curl examples of Quay's documentation for the identity endpoints, run as written (only the
 * placeholders filled in) with the `curl` binary against `npm start`, and their answers checked
 * against the documented output. The bearer token is minted the way Quay's UI mints one: a
 * signed-in session creates an organization and an OAuth application in it, then
 * `POST /oauth/authorizeapp` redirects with `#access_token=…`.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { connectWharf } from "./helpers/server";

const exec = promisify(execFile);
const base = inject("wharfUrl");
const hostPort = new URL(base).host;
const run = Math.random().toString(36).replace(/[^a-z]/g, "").slice(0, 6) || "run";
const QUAY_DATE = /^\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} -0000$/;

let token: string;

/** A signed-in browser session: its cookie and CSRF token. */
async function signIn(username: string, password: string) {
  const res = await fetch(`${base}/api/v1/signin`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ username, password }) });
  expect(res.status).toBe(200);
  const cookie = res.headers.getSetCookie().map((c) => c.split(";")[0]).join("; ");
  const csrf = ((await (await fetch(`${base}/csrf_token`, { headers: { Cookie: cookie } })).json()) as { csrf_token: string }).csrf_token;
  return { cookie, csrf };
}

/** Mints an OAuth token as Quay's UI does (Organization → Applications → Generate Token). */
async function mintToken(username: string, password: string, scopes: string[]): Promise<string> {
  const { cookie, csrf } = await signIn(username, password);
  const session = { Cookie: cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json" };
  const org = `tokens${run}`;
  expect((await fetch(`${base}/api/v1/organization/`, { method: "POST", headers: session, body: JSON.stringify({ name: org }) })).status).toBe(201);
  const app = await fetch(`${base}/api/v1/organization/${org}/applications`, {
    method: "POST",
    headers: session,
    body: JSON.stringify({ name: "seed examples", redirect_uri: `${base}/oauth/localapp` }),
  });
  expect(app.status).toBe(200);
  const { client_id } = (await app.json()) as { client_id: string };
  const form = new URLSearchParams({ client_id, redirect_uri: `${base}/oauth/localapp`, scope: scopes.join(" "), response_type: "token", _csrf_token: csrf });
  const res = await fetch(`${base}/oauth/authorizeapp`, { method: "POST", headers: { Cookie: cookie }, body: form, redirect: "manual" });
  expect(res.status).toBe(302);
  const fragment = new URLSearchParams(new URL(res.headers.get("Location")!).hash.slice(1));
  return fragment.get("access_token")!;
}

/** Runs a documented command line with bash, placeholders replaced; returns curl's stdout. */
async function documented(command: string, values: Record<string, string> = {}): Promise<string> {
  let line = command.replaceAll("https://<quay-server.example.com>", base).replaceAll("<quay-server.example.com>", hostPort);
  for (const [placeholder, value] of Object.entries(values)) line = line.replaceAll(placeholder, value);
  line = line.replaceAll("<bearer_token>", token).replaceAll("<insert token here>", token);
  const { stdout } = await exec("bash", ["-c", line], { timeout: 30_000 });
  return stdout;
}

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
    expect(created).toEqual({ username: `newuser${run}`, email: `newuser${run}@example.com`, password: expect.stringMatching(/^[A-Z0-9]{32}$/), encrypted_password: expect.any(String) });
    const listed = JSON.parse(await documented(`curl -X GET -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/superuser/users/"`));
    expect(listed.users).toContainEqual({
      kind: "user",
      name: `newuser${run}`,
      username: `newuser${run}`,
      email: `newuser${run}@example.com`,
      verified: true,
      avatar: { name: `newuser${run}`, hash: expect.stringMatching(/^[0-9a-f]{64}$/), color: expect.stringMatching(/^#[0-9a-f]{6}$/), kind: "user" },
      super_user: false,
      enabled: true,
    });
    expect(await documented(`curl -X DELETE -H "Authorization: Bearer <insert token here>" https://<quay-server.example.com>/api/v1/superuser/users/<username>`, { "<username>": `newuser${run}` })).toBe("");
  });

  it("organization and robot accounts: create, regenerate, list, delete, look up", async () => {
    const org = `robotorg${run}`;
    const values = { "<new_organization_name>": org, "<organization_name>": org, "<orgname>": org, "<robot_name>": "robot-name", "<robot_shortname>": "robot-name" };
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
    const robotShape = (name: string) => ({ name, created: expect.stringMatching(QUAY_DATE), last_accessed: null, description: "", token: expect.stringMatching(/^[A-Z0-9]{64}$/), unstructured_metadata: null });
    const orgRobot = JSON.parse(await documented(`curl -X PUT -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/organization/<organization_name>/robots/<robot_name>"`, values));
    expect(orgRobot).toEqual(robotShape(`${org}+robot-name`));
    const userRobot = JSON.parse(await documented(`curl -X PUT -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/user/robots/<robot_name>"`, values));
    expect(userRobot).toEqual(robotShape("admin+robot-name"));

    const regenerated = JSON.parse(
      await documented(
        `curl -X POST \\
-H "Authorization: Bearer <bearer_token>" \\
"<quay-server.example.com>/api/v1/organization/<orgname>/robots/<robot_shortname>/regenerate"`,
        values,
      ),
    );
    expect(regenerated).toMatchObject({ name: `${org}+robot-name`, created: expect.stringMatching(QUAY_DATE), last_accessed: null, description: "" });
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
    expect(JSON.parse(await documented(`curl -X GET -H "Authorization: Bearer <bearer_token>" "https://<quay-server.example.com>/api/v1/organization/<organization_name>/robots"`, values))).toEqual({ robots: [] });
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
