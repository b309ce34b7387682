/**
 * The seed's custom git trigger (000 chapter 8) end to end against `npm start`: a trigger made and
 * activated through the API, a bare git repository on disk whose post-receive hook POSTs the
 * §8.2.2 payload to the webhook URL the trigger's View Credentials shows (with `curl`, as the seed
 * suggests), and a `git push` to it: the push queues one build of the pushed commit, tagged with
 * the branch and `latest`. A `[skip build]` commit queues nothing. The build itself is the
 * connector's (its own end-to-end test).
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { apiCall } from "./helpers/api-calls";
import { connectWharf } from "./helpers/server";

const base = inject("wharfUrl");
const repository = `admin/triggered${Date.now().toString(36)}`;
let token: string;
let dir: string;

const api = (method: string, pathname: string, body?: unknown) => apiCall(base, token, method, pathname, body);

/** The post-receive hook: one webhook call per pushed ref, with the commit's message. */
const HOOK = `#!/bin/sh
while read old new ref; do
  message=$(git log -1 --format=%s "$new")
  payload=$(jq -cn --arg c "$new" --arg r "$ref" --arg m "$message" --arg d "$(git log -1 --format=%cI "$new")" \\
    '{commit: $c, ref: $r, default_branch: "main", commit_info: {url: "https://git.example/c", message: $m, date: $d}}')
  curl -sS -f -H 'Content-Type: application/json' --data "$payload" "$(cat "$GIT_DIR/webhook-url")" || exit 1
done
`;

const git = (cwd: string, ...args: string[]) =>
  execFileSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "Olga",
      GIT_AUTHOR_EMAIL: "olga@example.com",
      GIT_COMMITTER_NAME: "Olga",
      GIT_COMMITTER_EMAIL: "olga@example.com",
    },
  });

beforeAll(async () => {
  token = (await connectWharf(base, inject("wharfStateDir"))).adminToken;
  await api("POST", "/repository", {
    namespace: "admin",
    repository: repository.split("/")[1],
    visibility: "private",
    description: "",
  });
  dir = mkdtempSync(path.join(tmpdir(), "wharf-git-"));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("a custom git trigger fired by a post-receive hook", () => {
  it("queues one build per push of the pushed commit, and none for [skip build]", async () => {
    const made = await api("POST", `/repository/${repository}/trigger/`, { service: "custom-git" });
    const origin = path.join(dir, "origin.git");
    const view = await api("POST", `/repository/${repository}/trigger/${made.id}/activate`, {
      // Where the connector would clone from; this test stops at the queued build.
      config: { build_source: "ssh://git@git.example/olga/app.git", context: "/" },
    });
    const url = view.config.credentials.find((c: { name: string }) => c.name === "Webhook Endpoint URL").value;
    expect(url).toMatch(/^http:\/\/\$token:[A-Za-z0-9]{40}@/);

    git(dir, "init", "--bare", "--initial-branch=main", origin);
    writeFileSync(path.join(origin, "webhook-url"), url);
    writeFileSync(path.join(origin, "hooks", "post-receive"), HOOK);
    chmodSync(path.join(origin, "hooks", "post-receive"), 0o755);
    const work = path.join(dir, "work");
    git(dir, "clone", "--quiet", origin, work);
    writeFileSync(path.join(work, "Dockerfile"), "FROM scratch\nCOPY Dockerfile /\n");
    git(work, "add", "Dockerfile");
    git(work, "commit", "--quiet", "-m", "Add the Dockerfile");
    git(work, "push", "--quiet", "origin", "main");
    const commit = git(work, "rev-parse", "HEAD").trim();

    const { builds } = await api("GET", `/repository/${repository}/trigger/${made.id}/builds`);
    expect(builds).toHaveLength(1);
    expect(builds[0]).toMatchObject({
      phase: "waiting",
      display_name: commit.slice(0, 7),
      tags: ["main", "latest"],
      trigger_metadata: { commit, ref: "refs/heads/main", default_branch: "main" },
    });

    writeFileSync(path.join(work, "README"), "docs\n");
    git(work, "add", "README");
    git(work, "commit", "--quiet", "-m", "Docs only [skip build]");
    git(work, "push", "--quiet", "origin", "main");
    expect((await api("GET", `/repository/${repository}/trigger/${made.id}/builds`)).builds).toHaveLength(1);
  });
});
