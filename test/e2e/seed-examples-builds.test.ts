/**
 * The seeds' build examples run as written with the `curl` binary against `npm start` with a real
 * connector attached (`npm run connector`), only the placeholders filled in.
 *
 * Source (/work/shared/seeds): 000_48d23e0a46334360.txt ("000"). §14.4.7 "Trigger a build"
 * (000:1723) is a POST with a token and no body: run exactly so, it gets Quay's 400 (a build needs
 * a source). §14.4.5 "Create a repository build via API" (000:1699) documents only the body
 * (`docker_tags`, `pull_robot`, `subdirectory`, `archive_url`): it is sent with §14.4.7's command,
 * its values as placeholders. The documentation names a real registry host where
 * `<quay-server.example.com>` stands below. 000's other build material (chapter 8's custom git
 * trigger, chapter 12's payloads) has no curl command: origin-connector.test.ts and
 * custom-git-trigger.test.ts run it. 001, 002 and 004 have no build or trigger curl command.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { run } from "./helpers/clients";
import type { ConnectorProcess } from "./helpers/connector-process";
import { createConnector, RECEIVER_HOST, startConnector, waitForBuild } from "./helpers/origin-connector";
import { runSuffix, seedCommands } from "./helpers/seed-commands";
import { type RunningServer, startWharf } from "./helpers/server";

const suffix = runSuffix();
const namespace = `seedbuild${suffix}`;
const repository = `${namespace}/app`;
const marker = `archive-${randomBytes(4).toString("hex")}`;
let server: RunningServer;
let archives: Server;
let archivePort: number;
let archiveHits = 0;
let connector: ConnectorProcess | undefined;
let tmp: string;
let token = "";
let seed: ReturnType<typeof seedCommands>;

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-seed-builds-"));
  // The archive: the build context in a sub-directory, as §14.4.5's `subdirectory` has it.
  await mkdir(path.join(tmp, "context", "app"), { recursive: true });
  await writeFile(path.join(tmp, "context", "app", "Dockerfile"), "FROM scratch\nCOPY hello.txt /hello.txt\n");
  await writeFile(path.join(tmp, "context", "app", "hello.txt"), `${marker}\n`);
  await run("tar", ["-czf", path.join(tmp, "context.tar.gz"), "-C", path.join(tmp, "context"), "app"]);
  const archive = await readFile(path.join(tmp, "context.tar.gz"));
  archives = createServer((req, res) => {
    if (req.url !== "/context.tar.gz") return void res.writeHead(404).end();
    archiveHits += 1;
    res.writeHead(200, { "Content-Type": "application/gzip", "Content-Length": archive.length }).end(archive);
  });
  await new Promise<void>((resolve) => archives.listen(0, RECEIVER_HOST, resolve));
  archivePort = (archives.address() as AddressInfo).port;
  // "The archive should be publicly accessible": this registry lets the loopback server stand for it.
  server = await startWharf({ env: { ALLOW_PRIVATE_OUTBOUND: `${RECEIVER_HOST}:${archivePort}` } });
  seed = seedCommands(server.url, () => token);
  const owner = await server.credentialsFor(namespace);
  token = await seed.mintToken(owner.username, owner.password, [
    "repo:admin",
    "repo:create",
    "repo:write",
    "repo:read",
  ]);
  await apiCall(server.url, token, "POST", "/repository", {
    namespace,
    repository: "app",
    visibility: "private",
    description: "",
  });
  const made = await createConnector(server.url, server.adminToken, `seeds-${suffix}`, ["build"]);
  connector = startConnector(server.url, made.token, path.join(tmp, "work"));
  await connector.waitForOutput(/builder buildah/);
}, 180_000);

afterAll(async () => {
  await connector?.kill();
  archives?.closeAllConnections();
  archives?.close();
  await server?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe("000 §14.4 builds", () => {
  it("§14.4.7 Trigger a build, as written (no body): Quay's 400, and no build queued", async () => {
    // 000:1723, `https://<quay-server.example.com>` for the documentation's host.
    const out = await seed.documented(
      `curl -X POST https://<quay-server.example.com>/api/v1/repository/YOURORGNAME/YOURREPONAME/build/ \\
   -H 'Authorization: Bearer <token>'`,
      { YOURORGNAME: namespace, YOURREPONAME: "app" },
    );
    const answer = JSON.parse(out);
    expect(answer).toMatchObject({ status: 400, error_type: "invalid_request", title: "invalid_request" });
    // Quay's message for a request with no source (build.py); Quay's `validate_json_request` may
    // say "Missing JSON body" first where its Flask reads no body as none.
    expect(answer).toMatchObject({
      detail: "file_id or archive_url required",
      error_message: "file_id or archive_url required",
    });
    const { builds } = await apiCall(server.url, token, "GET", `/repository/${repository}/build/`);
    expect(builds).toEqual([]);
  });

  it("§14.4.5 requestRepoBuild with archive_url: queued, built by the connector from the archive, complete", async () => {
    const archiveUrl = `http://${RECEIVER_HOST}:${archivePort}/context.tar.gz`;
    const out = await seed.documented(
      `curl -X POST https://<quay-server.example.com>/api/v1/repository/YOURORGNAME/YOURREPONAME/build/ \\
   -H 'Authorization: Bearer <token>' -H 'Content-Type: application/json' \\
   --data '{"docker_tags": ["<docker_tag>"], "subdirectory": "<subdirectory>", "archive_url": "<archive_url>"}'`,
      {
        YOURORGNAME: namespace,
        YOURREPONAME: "app",
        "<docker_tag>": "from-archive",
        "<subdirectory>": "app",
        "<archive_url>": archiveUrl,
      },
    );
    const queued = JSON.parse(out);
    // Quay's display name for an archive build: the URL's SHA-224, 7 digits.
    const displayName = createHash("sha224").update(archiveUrl).digest("hex").slice(0, 7);
    expect(queued).toMatchObject({
      phase: "waiting",
      tags: ["from-archive"],
      display_name: displayName,
      // Quay's view names the Dockerfile the subdirectory gave (`build_subdir`).
      subdirectory: expect.stringMatching(/^\/?app\/Dockerfile$/),
      is_writer: true,
      manual_user: namespace,
      repository: { namespace, name: "app" },
    });
    const done = await waitForBuild(server.url, token, repository, queued.id, 150_000, connector);
    expect(done.phase, connector?.output().slice(-3000)).toBe("complete");
    expect(archiveHits).toBeGreaterThanOrEqual(1);
    const logs = await apiCall(server.url, token, "GET", `/repository/${repository}/build/${queued.id}/logs`);
    const commands = logs.logs.filter((e: { type?: string }) => e.type === "command");
    expect(commands.map((e: { message: string }) => e.message)).toEqual([
      "STEP 1/2: FROM scratch",
      "STEP 2/2: COPY hello.txt /hello.txt",
    ]);
    // The tag the body asked for is in the repository.
    const tags = await apiCall(server.url, token, "GET", `/repository/${repository}/tag/?specificTag=from-archive`);
    expect(tags.tags.map((t: { name: string }) => t.name)).toEqual(["from-archive"]);
  });
});
