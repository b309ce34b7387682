/**
 * Quay's trigger API (endpoints/api/trigger.py) and Wharf's `POST …/trigger/`: each operation's
 * answer in Quay's JSON (`trigger_view`), its refusals with Quay's messages, who may call it
 * (strangers 404 on a private repository, readers 403), the pull robot guard, and that another
 * repository's admins cannot reach a trigger by its uuid.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { MAX_TRIGGERS_PER_REPOSITORY, triggerDeployKey } from "../../../src/builds/triggers";
import { buildTriggers } from "../../../src/db/schema";
import { decryptSecret } from "../../../src/identity/secrets";
import { findRepository } from "../../../src/registry/repositories";
import { db } from "../helpers/accounts";
import { api, createPrivateRepository, expectQuayError, fixtureCall } from "../helpers/api";
import { recordEvents } from "../helpers/events";
import { requestWith } from "../helpers/mailbox";
import {
  type Accounts,
  activeTrigger,
  basicToken,
  CUSTOM_CONFIG,
  credential,
  customPush,
  customSecret,
  expr,
  newTrigger,
  triggerAccounts,
  triggerRow,
} from "./helpers";

let a: Accounts;

beforeAll(async () => {
  a = await triggerAccounts();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const base = (repository = "olga/app") => `/repository/${repository}/trigger`;

describe("POST …/trigger/ (Wharf's createBuildTrigger)", () => {
  it("makes an inactive custom git trigger with an Ed25519 deploy key and a webhook URL carrying its secret", async () => {
    const view = await newTrigger(a.olga, "olga/app");
    expect(view).toMatchObject({
      service: "custom-git",
      is_active: false,
      build_source: null,
      repository_url: null,
      can_invoke: true,
      enabled: true,
      disabled_reason: null,
    });
    expect(view.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(view).not.toHaveProperty("pull_robot");
    expect(credential(view, "SSH Public Key")).toMatch(
      new RegExp(`^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5[A-Za-z0-9+/]+=* wharf-trigger-${view.id}$`),
    );
    const url = credential(view, "Webhook Endpoint URL");
    expect(url).toMatch(
      new RegExp(`^http://\\$token:[A-Za-z0-9]{40}@registry\\.test/webhooks/push/trigger/${view.id}$`),
    );
    // Sealed at rest: neither the secret nor the private key is stored in clear.
    const row = (await triggerRow(view.id))!;
    expect(row.sealedSecret).not.toContain(customSecret(view));
    expect(await decryptSecret(env, row.sealedSecret!)).toBe(customSecret(view));
    const deployKey = await triggerDeployKey(db(), env, row.id);
    expect(deployKey).toMatch(/^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
    expect(deployKey).toBe(await decryptSecret(env, row.sealedPrivateKey!));
    expect(await triggerDeployKey(db(), env, 999_999)).toBeNull();
    expect(row.sealedPrivateKey).not.toContain("OPENSSH");
  });

  it("makes a GitHub trigger whose credentials are the key, the plain webhook URL and the HMAC secret", async () => {
    const view = await newTrigger(a.olga, "olga/app", "github");
    expect(credential(view, "Webhook Endpoint URL")).toBe(`http://registry.test/webhooks/push/trigger/${view.id}`);
    expect(credential(view, "Webhook Secret")).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(credential(view, "SSH Public Key")).toMatch(/^ssh-ed25519 /);
  });

  it("refuses a repository's 101st trigger", async () => {
    await createPrivateRepository(a.olga, "olga", "crowded");
    const repo = (await findRepository(db(), "olga/crowded"))!;
    // Ten rows a statement: D1 binds at most 100 values per query.
    for (let i = 0; i < MAX_TRIGGERS_PER_REPOSITORY; i += 10)
      await db()
        .insert(buildTriggers)
        .values(
          Array.from({ length: 10 }, () => ({
            uuid: crypto.randomUUID(),
            repositoryId: repo.id,
            service: "custom-git" as const,
          })),
        );
    expectQuayError(
      await api("POST", `${base("olga/crowded")}/`, { token: a.olga, body: { service: "custom-git" } }),
      400,
      "invalid_request",
      "A repository holds at most 100 build triggers",
    );
  });

  it("refuses an unknown service, readers (403) and strangers (404 as for no repository)", async () => {
    expectQuayError(
      await api("POST", `${base()}/`, { token: a.olga, body: { service: "bitbucket" } }),
      400,
      "invalid_request",
    );
    expectQuayError(
      await api("POST", `${base()}/`, { token: a.rita, body: { service: "custom-git" } }),
      403,
      "insufficient_scope",
    );
    const hidden = await api("POST", `${base()}/`, { token: a.gus, body: { service: "custom-git" } });
    const missing = await api("POST", `${base("olga/nothing")}/`, { token: a.gus, body: { service: "custom-git" } });
    expectQuayError(hidden, 404, "not_found");
    expect(hidden.json).toEqual(missing.json);
    expectQuayError(await api("POST", `${base()}/`, { body: { service: "custom-git" } }), 401, "invalid_token");
  });
});

describe("list, get, activate, update, delete", () => {
  it("lists and gets Quay's trigger_view", async () => {
    await createPrivateRepository(a.olga, "olga", "listed");
    const one = await newTrigger(a.olga, "olga/listed");
    const two = await newTrigger(a.olga, "olga/listed", "github");
    const list = await api("GET", `${base("olga/listed")}/`, { token: a.olga });
    expect(list.status).toBe(200);
    expect(list.json.triggers.map((t: { id: string }) => t.id)).toEqual([one.id, two.id]);
    const got = await api("GET", `${base("olga/listed")}/${one.id}`, { token: a.olga });
    expect(got.json).toEqual(one);
    expectQuayError(await api("GET", `${base("olga/listed")}/${one.id}`, { token: a.rita }), 404, "not_found");
    expectQuayError(
      await api("GET", `${base("olga/app")}/${crypto.randomUUID()}`, { token: a.olga }),
      404,
      "not_found",
    );
  });

  it("does not let one repository's admin reach another's trigger by its uuid", async () => {
    const theirs = await newTrigger(a.olga, "olga/app");
    await createPrivateRepository(a.gus, "gus", "mine");
    expectQuayError(await api("GET", `${base("gus/mine")}/${theirs.id}`, { token: a.gus }), 404, "not_found");
    expectQuayError(await api("DELETE", `${base("gus/mine")}/${theirs.id}`, { token: a.gus }), 404, "not_found");
    expect(await triggerRow(theirs.id)).toBeDefined();
  });

  it("activates with the config (Quay's defaults filled in) and logs setup_repo_trigger; a second activation is refused", async () => {
    const made = await newTrigger(a.olga, "olga/app");
    const events = recordEvents();
    const config = { ...CUSTOM_CONFIG, branchtag_regex: "heads/.+", tag_templates: [expr("commit_info.short_sha")] };
    const res = await api("POST", `${base()}/${made.id}/activate`, { token: a.olga, body: { config } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      id: made.id,
      is_active: true,
      build_source: CUSTOM_CONFIG.build_source,
      config: {
        ...config,
        default_tag_from_ref: true,
        latest_for_default_branch: true,
        credentials: made.config.credentials,
      },
    });
    const [event] = await events.published("setup_repo_trigger");
    expect(event!.data).toEqual({
      trigger: { uuid: made.id, service: "custom-git" },
      pullRobot: null,
      config: { ...config, default_tag_from_ref: true, latest_for_default_branch: true },
    });
    expectQuayError(
      await api("POST", `${base()}/${made.id}/activate`, { token: a.olga, body: { config } }),
      400,
      "invalid_request",
      "Trigger config is not sufficient for activation.",
    );
  });

  it("refuses configs it could not build from", async () => {
    const made = await newTrigger(a.olga, "olga/app");
    const activate = (config: unknown) =>
      api("POST", `${base()}/${made.id}/activate`, { token: a.olga, body: { config } });
    expectQuayError(
      await api("POST", `${base()}/${made.id}/activate`, { token: a.olga, body: {} }),
      400,
      "invalid_request",
      "'config' is a required property",
    );
    expectQuayError(await activate({}), 400, "invalid_request", "'build_source' is a required property");
    expectQuayError(
      await activate({ build_source: "--upload-pack=touch /tmp/x" }),
      400,
      "invalid_request",
      /not a git URL/,
    );
    expectQuayError(
      await activate({ ...CUSTOM_CONFIG, branchtag_regex: "(a+)+" }),
      400,
      "invalid_request",
      /Invalid branchtag_regex/,
    );
    expectQuayError(
      await activate({ ...CUSTOM_CONFIG, branchtag_regex: "a)|(b" }),
      400,
      "invalid_request",
      /Invalid branchtag_regex/,
    );
    expectQuayError(
      await activate({ ...CUSTOM_CONFIG, tag_templates: [expr("commit_info.secret")] }),
      400,
      "invalid_request",
      /unknown expression/,
    );
    expectQuayError(
      await activate({ ...CUSTOM_CONFIG, dockerfile_path: "/other/Dockerfile", context: "/sub" }),
      400,
      "invalid_request",
      "Dockerfile, /other/Dockerfile, is not a child of the context, /sub.",
    );
    expectQuayError(await activate({ ...CUSTOM_CONFIG, context: "/../etc" }), 400, "invalid_request", /'\.\.'/);
    expectQuayError(await activate({ ...CUSTOM_CONFIG, latest_for_default_branch: "yes" }), 400, "invalid_request");
    expect((await triggerRow(made.id))!.isActive).toBe(false);
  });

  it("only the user who set the trigger up activates it (Quay's connected user)", async () => {
    await fixtureCall(a.olga, "PUT", "/repository/olga/app/permissions/user/gus", { role: "admin" });
    try {
      const made = await newTrigger(a.olga, "olga/app");
      expectQuayError(
        await api("POST", `${base()}/${made.id}/activate`, { token: a.gus, body: { config: CUSTOM_CONFIG } }),
        403,
        "insufficient_scope",
      );
    } finally {
      await fixtureCall(a.olga, "DELETE", "/repository/olga/app/permissions/user/gus");
    }
  });

  it("takes a pull robot of the repository's namespace that the caller administers, not another's", async () => {
    await fixtureCall(a.olga, "PUT", "/user/robots/puller");
    const view = await activeTrigger(a.olga, "olga/app", CUSTOM_CONFIG, "custom-git", "olga+puller");
    expect(view.pull_robot).toEqual({ name: "olga+puller", kind: "user", is_robot: true });
    await fixtureCall(a.gus, "PUT", "/user/robots/other");
    const made = await newTrigger(a.olga, "olga/app");
    const activate = (robot: string) =>
      api("POST", `${base()}/${made.id}/activate`, {
        token: a.olga,
        body: { config: CUSTOM_CONFIG, pull_robot: robot },
      });
    expectQuayError(await activate("gus+other"), 403, "insufficient_scope");
    expectQuayError(await activate("olga+nobody"), 404, "not_found");
    expectQuayError(await activate("olga"), 404, "not_found");
  });

  it("PUT toggles an active trigger (Quay's plain view), logs toggle_repo_trigger; refuses an inactive one", async () => {
    const view = await activeTrigger(a.olga, "olga/app");
    const events = recordEvents();
    const off = await api("PUT", `${base()}/${view.id}`, { token: a.olga, body: { enabled: false } });
    expect(off.status).toBe(200);
    expect(off.json).toEqual({
      id: view.id,
      service: "custom-git",
      is_active: true,
      build_source: null,
      repository_url: null,
      config: {},
      can_invoke: false,
      enabled: false,
      disabled_reason: "user_toggled",
    });
    const on = await api("PUT", `${base()}/${view.id}`, { token: a.olga, body: { enabled: true } });
    expect(on.json).toMatchObject({ enabled: true, disabled_reason: null });
    expect((await events.published("toggle_repo_trigger")).map((e) => e.data.enabled)).toEqual([false, true]);
    const inactive = await newTrigger(a.olga, "olga/app");
    expectQuayError(
      await api("PUT", `${base()}/${inactive.id}`, { token: a.olga, body: { enabled: false } }),
      400,
      "invalid_request",
      "Cannot update an unactivated trigger",
    );
    expectQuayError(
      await api("PUT", `${base()}/${view.id}`, { token: a.olga, body: {} }),
      400,
      "invalid_request",
      "'enabled' is a required property",
    );
  });

  it("DELETE removes it (204), logging delete_repo_trigger for an active one only, as Quay", async () => {
    const view = await activeTrigger(a.olga, "olga/app");
    const inactive = await newTrigger(a.olga, "olga/app");
    const events = recordEvents();
    expect((await api("DELETE", `${base()}/${view.id}`, { token: a.olga })).status).toBe(204);
    expect((await api("DELETE", `${base()}/${inactive.id}`, { token: a.olga })).status).toBe(204);
    expect(await triggerRow(view.id)).toBeUndefined();
    expect(await triggerRow(inactive.id)).toBeUndefined();
    expect((await events.published("delete_repo_trigger")).map((e) => e.data.trigger.uuid)).toEqual([view.id]);
    expectQuayError(await api("DELETE", `${base()}/${view.id}`, { token: a.olga }), 404, "not_found");
  });
});

describe("FEATURE_BUILD_SUPPORT off", () => {
  it("leaves no trigger routes nor webhooks (404)", async () => {
    const off = { ...env, FEATURE_BUILD_SUPPORT: "false" } as unknown as Env;
    const view = await activeTrigger(a.olga, "olga/app");
    expect((await requestWith(off, "GET", `/api/v1${base()}/`, { token: a.olga })).status).toBe(404);
    const push = await requestWith(off, "POST", `/webhooks/push/trigger/${view.id}`, {
      body: customPush(),
      headers: { Authorization: basicToken(customSecret(view)) },
    });
    expect(push).toMatchObject({ status: 404, json: { error: "Not Found" } });
  });
});
