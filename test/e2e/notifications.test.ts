/**
 * Repository notifications end to end (issue #15): a webhook receiver on loopback gets Quay's
 * `repo_push` payload after a real `skopeo` push and the test endpoint's sample, both delivered
 * from the NOTIFICATIONS queue through the outbound guard (this registry's ALLOW_PRIVATE_OUTBOUND
 * names the receiver, as a developer's would); and a push whose receiver sleeps 10 s completes
 * before the receiver answers: delivery is never on the push path. Then Quay's documented curl
 * examples for notifications, run as written.
 *
 * The receiver listens on 127.0.0.2: Quay refuses `localhost` and `127.0.0.1` as webhook hosts
 * whatever its configuration, and so does Wharf; the rest of 127.0.0.0/8 is loopback too.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { login, registryHost, skopeoCopy } from "./helpers/clients";
import { buildImageLayout } from "./helpers/oci-layout";
import { seedCommands } from "./helpers/seed-commands";
import { type RunningServer, startWharf } from "./helpers/server";

const RECEIVER_HOST = "127.0.0.2";
const SLEEP_MS = 10_000;

interface Hit {
  path: string;
  body: any;
  arrivedAt: number;
  answeredAt?: number;
}

let receiver: Server;
let port: number;
const hits: Hit[] = [];
let server: RunningServer;
let token: string;
let tmp: string;
let layout: string;
let host: string;
const repo = "hooks/app";

beforeAll(async () => {
  receiver = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const hit: Hit = {
      path: req.url!,
      body: JSON.parse(Buffer.concat(chunks).toString() || "null"),
      arrivedAt: Date.now(),
    };
    hits.push(hit);
    if (req.url === "/slow") await new Promise((r) => setTimeout(r, SLEEP_MS));
    hit.answeredAt = Date.now();
    res.writeHead(200).end("ok");
  });
  await new Promise<void>((resolve) => receiver.listen(0, RECEIVER_HOST, resolve));
  port = (receiver.address() as AddressInfo).port;
  server = await startWharf({ env: { ALLOW_PRIVATE_OUTBOUND: `${RECEIVER_HOST}:${port}` } });
  host = registryHost(server.url);
  const owner = await server.credentialsFor("hooks");
  token = await seedCommands(server.url, () => "").mintToken(owner.username, owner.password, [
    "repo:admin",
    "repo:write",
    "repo:read",
  ]);
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-notifications-"));
  layout = path.join(tmp, "layout");
  await buildImageLayout(layout, "v1", { layers: 1 });
  await login(host, owner, path.join(tmp, "auth.json"), "skopeo");
  await skopeoCopy(`oci:${layout}:v1`, `docker://${host}/${repo}:first`);
}, 180_000);

afterAll(async () => {
  receiver?.close();
  receiver?.closeAllConnections();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const call = (method: string, pathname: string, body?: unknown) => apiCall(server.url, token, method, pathname, body);

async function webhook(hookPath: string): Promise<string> {
  const created = await call("POST", `/repository/${repo}/notification/`, {
    event: "repo_push",
    method: "webhook",
    config: { url: `http://${RECEIVER_HOST}:${port}${hookPath}` },
    eventConfig: {},
    title: hookPath,
  });
  return created.uuid;
}

async function hitWith(predicate: (hit: Hit) => boolean, timeoutMs = 30_000): Promise<Hit> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = hits.find(predicate);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching delivery; received: ${JSON.stringify(hits)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe("repository notifications", () => {
  it("delivers repo_push after a skopeo push, and the test endpoint's sample", async () => {
    const uuid = await webhook("/hook");
    await skopeoCopy(`oci:${layout}:v1`, `docker://${host}/${repo}:v2`);
    const pushed = await hitWith((hit) => hit.path === "/hook" && hit.body?.updated_tags?.[0] === "v2");
    expect(pushed.body).toEqual({
      repository: repo,
      namespace: "hooks",
      name: "app",
      docker_url: `${host}/${repo}`,
      homepage: `${server.url}/repository/${repo}`,
      updated_tags: ["v2"],
    });

    expect(await call("POST", `/repository/${repo}/notification/${uuid}/test`)).toEqual({});
    const sample = await hitWith((hit) => hit.path === "/hook" && hit.body?.pruned_image_count === 3);
    expect(sample.body).toMatchObject({ repository: repo, updated_tags: ["latest", "foo"] });
    expect((await call("GET", `/repository/${repo}/notification/${uuid}`)).number_of_failures).toBe(0);
    await call("DELETE", `/repository/${repo}/notification/${uuid}`);
  }, 120_000);

  it("completes a push before a receiver that sleeps 10 s answers", async () => {
    const uuid = await webhook("/slow");
    await skopeoCopy(`oci:${layout}:v1`, `docker://${host}/${repo}:slow`);
    const pushedAt = Date.now();
    const hit = await hitWith((h) => h.path === "/slow" && h.body?.updated_tags?.[0] === "slow");
    await hitWith((h) => h === hit && h.answeredAt !== undefined, SLEEP_MS + 5_000);
    expect(pushedAt).toBeLessThan(hit.answeredAt!);
    await call("DELETE", `/repository/${repo}/notification/${uuid}`);
  }, 120_000);
});

/**
 * Quay's documented curl examples for notifications, run as written with the `curl` binary, only
 * the placeholders filled in. Source (/work/shared/seeds): 002_4f8f4aa6821a0fec.txt ("002"), §11.3;
 * each command names its line. The create command's URL is split across two lines there
 * (`https://<quay-` / `server.example.com>…`) and the list command's URL sits on the line after it
 * without a `\`: both are joined as the documentation means them.
 */
describe("Quay's documented notification curl examples, unchanged", () => {
  it("create, get, test, reset failures, delete and list", async () => {
    const { documented } = seedCommands(server.url, () => token);
    const values = {
      "<namespace>/<repository_name>": repo,
      "<repository>": repo,
      "<event>": "repo_push",
      "<method>": "webhook",
      "<config_key>": "url",
      "<config_value>": `http://${RECEIVER_HOST}:${port}/documented`,
      "<eventConfig_key>": "note",
      "<eventConfig_value>": "from the docs",
    };
    // 002:3021 (the URL's two halves joined); "This command does not return output in the CLI":
    // Quay answers the notification, which curl prints; the docs then read it back with GET.
    const created = JSON.parse(
      await documented(
        `curl -X POST \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Content-Type: application/json" \\
--data '{
  "event": "<event>",
  "method": "<method>",
  "config": {
    "<config_key>": "<config_value>"
  },
  "eventConfig": {
    "<eventConfig_key>": "<eventConfig_value>"
  }
}' \\
https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/notification/`,
        values,
      ),
    );
    const uuid: string = created.uuid;
    const view = await call("GET", `/repository/${repo}/notification/${uuid}`);
    expect(view).toEqual({
      uuid,
      title: null,
      event: "repo_push",
      method: "webhook",
      config: { url: values["<config_value>"] },
      event_config: { note: "from the docs" },
      number_of_failures: 0,
    });
    const withUuid = { ...values, "<uuid>": uuid };
    // 002:3054: "Example output {}"
    expect(
      JSON.parse(
        await documented(
          `curl -X POST \\
  -H "Authorization: Bearer <bearer_token>" \\
  https://<quay-server.example.com>/api/v1/repository/<repository>/notification/<uuid>/test`,
          withUuid,
        ),
      ),
    ).toEqual({});
    await hitWith((hit) => hit.path === "/documented" && hit.body?.repository === repo);
    // 002:3068: no output (204).
    expect(
      await documented(
        `curl -X POST \\
  -H "Authorization: Bearer <bearer_token>" \\
  https://<quay-server.example.com>/api/v1/repository/<repository>/notification/<uuid>`,
        withUuid,
      ),
    ).toBe("");
    // 002:3076: no output (204).
    expect(
      await documented(
        `curl -X DELETE \\
  -H "Authorization: Bearer <bearer_token>" \\
  https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/notification/<uuid>`,
        withUuid,
      ),
    ).toBe("");
    // 002:3084 (its URL joined to it): "Example output {"notifications": []}".
    expect(
      JSON.parse(
        await documented(
          `curl -X GET -H "Authorization: Bearer <bearer_token>" -H "Accept: application/json" https://<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/notification`,
          values,
        ),
      ),
    ).toEqual({ notifications: [] });
  }, 120_000);
});
