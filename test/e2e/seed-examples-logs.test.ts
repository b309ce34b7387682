/**
 * The curl examples of Quay's documentation for usage logs, run as written with the `curl` binary
 * (and `jq` where the command pipes to it) against `npm start`, only the placeholders filled in,
 * and their answers checked against the documented output: the same keys and value types, dates in
 * Quay's format, per-run values by pattern or against what this run did.
 *
 * Sources (/work/shared/seeds): 002_4f8f4aa6821a0fec.txt ("002", §9.2 "Viewing aggregated logs",
 * "Viewing detailed logs") and 000_48d23e0a46334360.txt ("000", §14.4.3 "List usage logs", its
 * pagination example). The PDF text splits commands across code blocks and wraps URLs mid-query
 * ("…?performer=" + newline + "<username>…") or before them ("\"" + newline + "<quay-server…"):
 * the commands below are reassembled as the documentation means them; other doc bugs mended are
 * named beside the command. 002 spells `aggregatelogs` `aggreatelogs` in every aggregated example:
 * Wharf answers that spelling too (src/routes/api/logs.ts), so those run as written.
 */
import { beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { pushOneLayerImage } from "./helpers/one-layer-image";
import { QUAY_DATE, runSuffix, seedCommands } from "./helpers/seed-commands";
import { connectWharf } from "./helpers/server";
import type { Credentials } from "./helpers/registry-auth";

const base = inject("wharfUrl");
const run = runSuffix();

let token: string;
const { hostPort, mintToken, documented } = seedCommands(base, () => token);
let wharf: Awaited<ReturnType<typeof connectWharf>>;
let admin: Credentials;

/** The documentation's organization and `busybox` repository, per run. */
const org = `logdocs${run}`;
const repository = `${org}/busybox`;
/** "more than 20 repos were created to show how to use multiple invocations" (000:1531). */
const EXTRA_REPOS = 21;
const USER_AGENT = `seed-examples-logs/${run}`;

/** Setup the examples presuppose, done through the API (not part of what is checked). */
const api = (method: string, pathname: string, body?: unknown) =>
  apiCall(base, wharf.adminToken, method, pathname, body);

/** Pushes a one-layer image as `repository:tag` over /v2 as the admin, with {@link USER_AGENT}. */
const pushTag = (tag: string) =>
  pushOneLayerImage(base, hostPort, admin, repository, tag, { "User-Agent": USER_AGENT });

/** Today in UTC as Quay's `MM/DD/YYYY`. */
function today(): string {
  const now = new Date();
  const two = (n: number) => String(n).padStart(2, "0");
  return `${two(now.getUTCMonth() + 1)}/${two(now.getUTCDate())}/${now.getUTCFullYear()}`;
}

/** Quay's performer JSON (002:2672). */
const performer = (name: string) => ({
  kind: "user",
  name,
  is_robot: false,
  avatar: {
    name,
    hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    color: expect.stringMatching(/^#[0-9a-f]{6}$/),
    kind: "user",
  },
});

/** Quay's entry JSON (002:2672, 000:1650); `ip` is null under `npm start` (no CF-Connecting-IP). */
const entry = (kind: string, metadata: Record<string, unknown>) => ({
  kind,
  metadata,
  ip: null,
  datetime: expect.stringMatching(QUAY_DATE),
  performer: performer("admin"),
});

let digest: string;

beforeAll(async () => {
  wharf = await connectWharf(base, inject("wharfStateDir"));
  admin = await wharf.credentialsFor("admin");
  token = await mintToken(admin.username, admin.password, [
    "super:user",
    "org:admin",
    "user:admin",
    "repo:admin",
    "repo:create",
  ]);
  await api("POST", "/organization/", { name: org, email: `${org}@example.com` });
  await api("POST", "/repository", { namespace: org, repository: "busybox", visibility: "private", description: "" });
  for (let i = 0; i < EXTRA_REPOS; i++)
    await api("POST", "/repository", { namespace: org, repository: `t${i}`, visibility: "private", description: "" });
  digest = await pushTag("test-two");
  // The entries are written off the request path, by the events queue's consumer: wait for them.
  const deadline = Date.now() + 60_000;
  for (;;) {
    const logs = (await api("GET", `/repository/${repository}/logs`)).logs as Array<{ kind: string }>;
    const orgLogs = (await api("GET", `/organization/${org}/logs`)).logs as Array<{ kind: string }>;
    if (logs.some((e) => e.kind === "push_repo") && orgLogs.length >= 20) break;
    if (Date.now() > deadline) throw new Error("the entries were not written within 60 s");
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
});

const aggregated = (json: any) => {
  expect(Object.keys(json)).toEqual(["aggregated"]);
  for (const row of json.aggregated) {
    expect(Object.keys(row).sort()).toEqual(["count", "datetime", "kind"]);
    expect(row.count).toBeGreaterThan(0);
    expect(row.datetime).toMatch(/^\w{3}, \d{2} \w{3} \d{4} 00:00:00 -0000$/);
  }
  return json.aggregated as Array<{ kind: string; count: number }>;
};

describe("Quay's documented usage-log curl examples (§9.2), unchanged", () => {
  it("002:2604 GET /api/v1/user/aggreatelogs: the current user's counts per kind and day", async () => {
    // 002 splits the command over two code blocks after `curl -X GET \`.
    const out = await documented(`curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
"https://<quay-server.example.com>/api/v1/user/aggreatelogs"`);
    aggregated(JSON.parse(out));
  });

  it("002:2619 …/user/aggreatelogs?performer=<username>&starttime=<MM/DD/YYYY>&endtime=<MM/DD/YYYY>", async () => {
    const out = await documented(
      `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
"<quay-server.example.com>/api/v1/user/aggreatelogs?performer=<username>&starttime=<MM/DD/YYYY>&endtime=<MM/DD/YYYY>"`,
      { "<username>": "admin", "<MM/DD/YYYY>": today() },
    );
    aggregated(JSON.parse(out));
  });

  it("002:2629 GET /api/v1/organization/{orgname}/aggreatelogs: this run's organization", async () => {
    const out = await documented(
      `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
"<quay-server.example.com>/api/v1/organization/{orgname}/aggreatelogs"`,
      { "{orgname}": org },
    );
    const rows = aggregated(JSON.parse(out));
    expect(rows).toContainEqual(expect.objectContaining({ kind: "create_repo", count: EXTRA_REPOS + 1 }));
    expect(rows).toContainEqual(expect.objectContaining({ kind: "push_repo", count: 1 }));
  });

  it("002:2638 GET /api/v1/repository/{repository}/aggreatelogs with the documented window: Quay's refusal", async () => {
    // Doc bug mended: the path names `<repository_name>/<namespace>`, the wrong way round.
    // The window as written (2024-01-01 to 2024-06-18) is longer than Quay allows an aggregation
    // (under four weeks): Quay answers it 400 "Invalid date range for logs", and so does Wharf.
    const command = `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
"<quay-server.example.com>/api/v1/repository/<namespace>/<repository_name>/aggreatelogs?starttime=2024-01-01&endtime=2024-06-18"`;
    const values = { "<namespace>": org, "<repository_name>": "busybox" };
    const refused = JSON.parse(await documented(command, values));
    expect(refused).toMatchObject({ status: 400, error_message: "Invalid date range for logs" });
    // The same command over today's window counts this run's repository.
    const now = new Date().toISOString().slice(0, 10);
    const ok = JSON.parse(
      await documented(
        command.replace("starttime=2024-01-01&endtime=2024-06-18", `starttime=${now}&endtime=${now}`),
        values,
      ),
    );
    expect(
      aggregated(ok)
        .map((r) => [r.kind, r.count])
        .sort(),
    ).toEqual([
      ["create_repo", 1],
      ["push_repo", 1],
    ]);
  });

  it("002:2654 GET /api/v1/user/logs: Quay's page of entries", async () => {
    // 002 opens the quoted URL and wraps before it (`"` + newline + `<quay-server…`).
    const out = JSON.parse(
      await documented(
        `curl -X GET -H "Authorization: Bearer <bearer_token>" -H "Accept: application/json" "<quay-server.example.com>/api/v1/user/logs"`,
      ),
    );
    expect(out).toEqual({
      start_time: expect.stringMatching(QUAY_DATE),
      end_time: expect.stringMatching(QUAY_DATE),
      logs: expect.any(Array),
      ...(out.next_page === undefined ? {} : { next_page: expect.any(String) }),
    });
  });

  it("002:2662 …/user/logs?performer=quayuser&starttime=01/01/2024&endtime=06/18/2024: the documented window", async () => {
    // 002 breaks the command before the URL without a `\` and wraps the URL after `?`; its host
    // is written `<quay-server.example.com>` here (no registry host is named in this repository).
    const out = JSON.parse(
      await documented(
        `curl -X GET -H "Authorization: Bearer <bearer_token>" -H "Accept: application/json" "http://<quay-server.example.com>/api/v1/user/logs?performer=quayuser&starttime=01/01/2024&endtime=06/18/2024"`,
      ),
    );
    // The documented output's window, to the character (the end day included: Quay adds a day).
    expect(out.start_time).toBe("Mon, 01 Jan 2024 00:00:00 -0000");
    expect(out.end_time).toBe("Wed, 19 Jun 2024 00:00:00 -0000");
    // No `quayuser` here, and nothing from 2024: no entries.
    expect(out.logs).toEqual([]);
  });

  it("002:2687 GET /api/v1/organization/{orgname}/logs: push_repo with Quay's metadata, user-agent included", async () => {
    const out = JSON.parse(
      await documented(
        `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
"http://<quay-server.example.com>/api/v1/organization/{orgname}/logs"`,
        { "{orgname}": org },
      ),
    );
    expect(out.logs).toHaveLength(20);
    expect(out.next_page).toEqual(expect.any(String));
    expect(out.logs[0]).toEqual(
      entry("push_repo", {
        repo: "busybox",
        namespace: org,
        username: "admin",
        tag: "test-two",
        manifest_digest: digest,
        "user-agent": USER_AGENT,
      }),
    );
  });

  it("002:2696 GET /api/v1/repository/{repository}/logs: the repository's entries, newest first", async () => {
    const out = JSON.parse(
      await documented(
        `curl -X GET \\
-H "Authorization: Bearer <bearer_token>" \\
-H "Accept: application/json" \\
"http://<quay-server.example.com>/api/v1/repository/{repository}/logs"`,
        { "{repository}": repository },
      ),
    );
    expect(out).toEqual({
      start_time: expect.stringMatching(QUAY_DATE),
      end_time: expect.stringMatching(QUAY_DATE),
      logs: [
        entry("push_repo", expect.objectContaining({ tag: "test-two", "user-agent": USER_AGENT })),
        entry("create_repo", { repo: "busybox", namespace: org }),
      ],
    });
  });
});

describe("Quay's documented superuser usage-log example (000 §14.4.3), unchanged", () => {
  it("000:1537 and 000:1643 GET /api/v1/superuser/logs, then its next_page", async () => {
    // 000's host is written `<quay-server.example.com>` here (no registry host is named in this
    // repository), its token is the placeholder; `-k` and `| jq` as written.
    const first = JSON.parse(
      await documented(
        `curl -X GET -k -H "Authorization: Bearer <bearer_token>" https://<quay-server.example.com>/api/v1/superuser/logs | jq`,
      ),
    );
    expect(first).toEqual({
      start_time: expect.stringMatching(QUAY_DATE),
      end_time: expect.stringMatching(QUAY_DATE),
      logs: expect.any(Array),
      next_page: expect.any(String),
    });
    expect(first.logs).toHaveLength(20);
    // The superuser's listing spans namespaces: each entry names its own, as Quay's JSON (000:1650).
    const namespace = {
      kind: "org",
      name: org,
      avatar: {
        name: org,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
        color: expect.stringMatching(/^#[0-9a-f]{6}$/),
        kind: "org",
      },
    };
    expect(first.logs).toContainEqual({ ...entry("push_repo", expect.any(Object)), namespace });
    const second = JSON.parse(
      await documented(
        `curl -X GET -k -H "Authorization: Bearer <bearer_token>" https://<quay-server.example.com>/api/v1/superuser/logs?next_page=<next_page> | jq`,
        { "<next_page>": first.next_page },
      ),
    );
    expect(second.logs.length).toBeGreaterThan(0);
    const ids = (page: any) => page.logs.map((e: any) => `${e.kind} ${e.datetime} ${JSON.stringify(e.metadata)}`);
    for (const id of ids(second)) expect(ids(first)).not.toContain(id);
    expect(second.logs[0]).toMatchObject({ kind: expect.any(String), datetime: expect.stringMatching(QUAY_DATE) });
  });
});
