import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api, createPrivateRepository, expectQuayError, fixtureCall } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import {
  type Accounts,
  activeTrigger,
  buildsOf,
  CUSTOM_CONFIG,
  GITHUB_CONFIG,
  newTrigger,
  triggerAccounts,
} from "./helpers";

let a: Accounts;

beforeAll(async () => {
  a = await triggerAccounts();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const base = (repository = "olga/app") => `/repository/${repository}/trigger`;

describe("POST …/start and GET …/builds", () => {
  it("runs a custom git trigger at a commit: 201 with the build, start_build_trigger with build_dockerfile", async () => {
    await createPrivateRepository(a.olga, "olga", "manual");
    const view = await activeTrigger(a.olga, "olga/manual");
    const events = recordEvents();
    const res = await api("POST", `${base("olga/manual")}/${view.id}/start`, {
      token: a.olga,
      body: { commit_sha: "abcdef1234567" },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
    expect(res.headers.get("Location")).toBe(`/api/v1/repository/olga/manual/build/${res.json.id}`);
    expect(res.json).toMatchObject({
      phase: "waiting",
      display_name: "abcdef1",
      // The build API's view (Quay's build_status_view): paths from the root, the writer's flag.
      subdirectory: "/Dockerfile",
      dockerfile_path: "/Dockerfile",
      context: "/",
      is_writer: true,
      tags: ["abcdef1"],
      manual_user: "olga",
      trigger: { id: view.id, service: "custom-git", repository_url: null, can_invoke: true },
      trigger_metadata: { commit: "abcdef1234567", git_url: CUSTOM_CONFIG.build_source },
      repository: { namespace: "olga", name: "manual" },
      pull_robot: null,
    });
    const [build] = await buildsOf("olga/manual");
    expect(build).toMatchObject({ uuid: res.json.id, performerId: expect.any(Number) });
    expect(build!.job).toMatchObject({ is_manual: true, dockerfile_path: "Dockerfile", build_subdir: "", context: "" });
    expect(build!.jobs).toHaveLength(1);
    const [started] = await events.published("start_build_trigger");
    expect(started!.data).toEqual({ trigger: { uuid: view.id, service: "custom-git" }, build: res.json.id });
    expect(await events.published("build_dockerfile")).toHaveLength(1);
    const listed = await api("GET", `${base("olga/manual")}/${view.id}/builds`, { token: a.olga });
    expect(listed.json.builds).toEqual([res.json]);
  });

  it("refuses a run without commit_sha, a bad one, unknown members, a disabled or inactive trigger (Quay's messages)", async () => {
    const view = await activeTrigger(a.olga, "olga/app");
    const start = (id: string, body: unknown) => api("POST", `${base()}/${id}/start`, { token: a.olga, body });
    expectQuayError(await start(view.id, {}), 400, "invalid_request", "missing required parameter");
    expectQuayError(
      await start(view.id, { commit_sha: "xyz" }),
      400,
      "invalid_request",
      "'xyz' does not match '^([A-Fa-f0-9]{7,})$'",
    );
    expectQuayError(await start(view.id, { commit_sha: "abcdef1", other: 1 }), 400, "invalid_request");
    await api("PUT", `${base()}/${view.id}`, { token: a.olga, body: { enabled: false } });
    expectQuayError(await start(view.id, { commit_sha: "abcdef1" }), 400, "invalid_request", "Trigger is not enabled.");
    const inactive = await newTrigger(a.olga, "olga/app");
    expectQuayError(
      await start(inactive.id, { commit_sha: "abcdef1" }),
      400,
      "invalid_request",
      "Trigger is not active.",
    );
  });

  it("runs a GitHub trigger at the head its webhook last brought, and says so when it saw none", async () => {
    await createPrivateRepository(a.olga, "olga", "hub");
    const view = await activeTrigger(a.olga, "olga/hub", GITHUB_CONFIG, "github");
    expectQuayError(
      await api("POST", `${base("olga/hub")}/${view.id}/start`, {
        token: a.olga,
        body: { refs: { kind: "tag", name: "v1" } },
      }),
      400,
      "invalid_request",
      "Could not find tag in repository",
    );
    expectQuayError(
      await api("POST", `${base("olga/hub")}/${view.id}/start`, { token: a.olga, body: {} }),
      400,
      "invalid_request",
      "Could not find branch in repository",
    );
  });
});

describe("the wizard's internal helpers", () => {
  it("answer what Wharf knows without an SCM token", async () => {
    const view = await activeTrigger(a.olga, "olga/app");
    const call = (method: string, path: string, body?: unknown) =>
      api(method, `${base()}/${view.id}/${path}`, { token: a.olga, body });
    expect((await call("POST", "subdir", {})).json).toEqual({
      dockerfile_paths: [],
      contextMap: {},
      status: "success",
    });
    expect((await call("POST", "analyze", { config: CUSTOM_CONFIG })).json).toEqual({ status: "notimplemented" });
    expect((await call("POST", "sources", { namespace: "olga" })).json).toEqual({ sources: [] });
    expect((await call("GET", "namespaces")).json).toEqual({ namespaces: [] });
    expect((await call("POST", "fields/refs")).json).toEqual({ values: [] });
    expectQuayError(await call("POST", "fields/nothing"), 404, "not_found");
    expectQuayError(await call("POST", "analyze", {}), 400, "invalid_request", "'config' is a required property");
  });
});

describe("an organization's pull robot", () => {
  it("is for the organization's admins (Quay's AdministerOrganizationPermission); a repository admin who is not one is refused", async () => {
    await fixtureCall(a.olga, "POST", "/organization", { name: "olgaorg" });
    await createPrivateRepository(a.olga, "olgaorg", "app");
    await fixtureCall(a.olga, "PUT", "/organization/olgaorg/robots/puller");
    await fixtureCall(a.olga, "PUT", "/repository/olgaorg/app/permissions/user/rita", { role: "admin" });
    const config = { config: CUSTOM_CONFIG, pull_robot: "olgaorg+puller" };
    const theirs = await newTrigger(a.rita, "olgaorg/app");
    expectQuayError(
      await api("POST", `${base("olgaorg/app")}/${theirs.id}/activate`, { token: a.rita, body: config }),
      403,
      "insufficient_scope",
    );
    const mine = await newTrigger(a.olga, "olgaorg/app");
    const res = await api("POST", `${base("olgaorg/app")}/${mine.id}/activate`, { token: a.olga, body: config });
    expect(res.status).toBe(200);
    expect(res.json.pull_robot).toEqual({ name: "olgaorg+puller", kind: "user", is_robot: true });
    // A robot of the caller's own namespace is not the organization's.
    await fixtureCall(a.olga, "PUT", "/user/robots/mine");
    const other = await newTrigger(a.olga, "olgaorg/app");
    expectQuayError(
      await api("POST", `${base("olgaorg/app")}/${other.id}/activate`, {
        token: a.olga,
        body: { config: CUSTOM_CONFIG, pull_robot: "olga+mine" },
      }),
      403,
      "insufficient_scope",
    );
  });
});
