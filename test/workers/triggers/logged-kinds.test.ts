/**
 * The trigger operations' action-log entries, read back through Quay's logs API, with the metadata
 * Quay's endpoints/api/trigger.py `log_action` calls write: `setup_repo_trigger` (repo, namespace,
 * trigger_id, service, pull_robot, config: never the credentials), `toggle_repo_trigger` (repo,
 * trigger_id, service, enabled), `delete_repo_trigger` (repo, trigger_id, service) and Wharf's
 * `start_build_trigger` (Quay logs nothing there: which trigger queued which build).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api, fixtureCall } from "../helpers/api";
import { entryOf, recordLogs } from "../helpers/action-logs";
import { type Accounts, CUSTOM_CONFIG, newTrigger, triggerAccounts } from "./helpers";

let a: Accounts;

beforeAll(async () => {
  a = await triggerAccounts();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const LOGS = "/repository/olga/app/logs";
const performer = { kind: "user", name: "olga", is_robot: false };

describe("the trigger kinds' entries", () => {
  it("setup_repo_trigger, toggle_repo_trigger, start_build_trigger and delete_repo_trigger as Quay writes them", async () => {
    const logs = recordLogs();
    await fixtureCall(a.olga, "PUT", "/user/robots/puller");
    const made = await newTrigger(a.olga, "olga/app");
    const base = `/repository/olga/app/trigger/${made.id}`;
    await fixtureCall(a.olga, "POST", `${base}/activate`, { config: CUSTOM_CONFIG, pull_robot: "olga+puller" });
    await fixtureCall(a.olga, "PUT", base, { enabled: false });
    await fixtureCall(a.olga, "PUT", base, { enabled: true });
    const run = await api("POST", `${base}/start`, { token: a.olga, body: { commit_sha: "abcdef1" } });
    expect(run.status).toBe(201);
    await fixtureCall(a.olga, "DELETE", base);
    await logs.deliver();

    const setup = await entryOf(a.olga, LOGS, "setup_repo_trigger");
    expect(setup).toMatchObject({
      metadata: {
        repo: "app",
        namespace: "olga",
        trigger_id: made.id,
        service: "custom-git",
        pull_robot: "olga+puller",
        config: { ...CUSTOM_CONFIG, default_tag_from_ref: true, latest_for_default_branch: true, tag_templates: [] },
      },
      performer,
    });
    expect(JSON.stringify(setup)).not.toContain("$token");
    const toggles = (await api("GET", LOGS, { token: a.olga })).json.logs.filter(
      (e: { kind: string }) => e.kind === "toggle_repo_trigger",
    );
    expect(
      toggles.map((e: { metadata: unknown }) => e.metadata).sort((x: any, y: any) => +x.enabled - +y.enabled),
    ).toEqual([
      { repo: "app", trigger_id: made.id, service: "custom-git", enabled: false },
      { repo: "app", trigger_id: made.id, service: "custom-git", enabled: true },
    ]);
    expect(await entryOf(a.olga, LOGS, "start_build_trigger")).toMatchObject({
      metadata: { repo: "app", namespace: "olga", trigger_id: made.id, service: "custom-git", build_id: run.json.id },
      performer,
    });
    expect(await entryOf(a.olga, LOGS, "delete_repo_trigger")).toMatchObject({
      metadata: { repo: "app", trigger_id: made.id, service: "custom-git" },
      performer,
    });
    expect(await entryOf(a.olga, LOGS, "build_dockerfile")).toMatchObject({ performer });
  });
});
