/**
 * The build kinds in the action logs, with Quay's metadata: `build_dockerfile` (endpoints/
 * building.py `start_build`) and `cancel_build` (build.py). The README's log-kinds table marks
 * them tested from this file (test/workers/events/logged-kinds-table.test.ts).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api } from "../helpers/api";
import { loggedEntry } from "../helpers/action-logs";
import { type BuildAccounts, makeBuildAccounts, REPO, requestArchiveBuild } from "../helpers/builds";

let a: BuildAccounts;

beforeAll(async () => {
  a = await makeBuildAccounts();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("build action logs", () => {
  it('logs "build_dockerfile" with Quay\'s metadata, performed by the requester', async () => {
    let uuid = "";
    const entry = await loggedEntry(a.bob, `/repository/${REPO}/logs`, "build_dockerfile", async () => {
      const res = await requestArchiveBuild(a.will, { docker_tags: ["v3"] });
      uuid = res.json.id;
      return res;
    });
    expect(entry.metadata).toEqual({
      build_id: uuid,
      docker_tags: ["v3"],
      repo: "app",
      namespace: "buildco",
      is_manual: true,
      manual_user: "will",
    });
    expect(entry.performer).toMatchObject({ name: "will" });
  });

  it('logs "cancel_build" with the build\'s uuid, performed by the canceller', async () => {
    const build = (await requestArchiveBuild(a.will)).json;
    const entry = await loggedEntry(a.bob, `/repository/${REPO}/logs`, "cancel_build", () =>
      api("DELETE", `/repository/${REPO}/build/${build.id}`, { token: a.bob }),
    );
    expect(entry.metadata).toEqual({ build_uuid: build.id });
    expect(entry.performer).toMatchObject({ name: "bob" });
  });
});
