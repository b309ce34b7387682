/**
 * A build's events as Quay's five build notifications (src/notifications/build-payloads.ts, seeds
 * §12.1.2–12.1.6): `build_queued`, `build_start`, `build_success`, `build_failure`,
 * `build_cancelled`, each with Quay's payload and the build's page as `homepage`; the `ref-regex`
 * filter applies to a trigger's builds.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { leaseOpenJob } from "../helpers/connectors";
import { buildJobHandler } from "../../../src/builds/build-job";
import type { RegistryEvent } from "../../../src/events/catalogue";
import { notifyEvent } from "../../../src/notifications/spawn";
import { api } from "../helpers/api";
import { type BuildAccounts, jobContext, makeBuildAccounts, REPO, requestArchiveBuild } from "../helpers/builds";
import { recordEvents } from "../helpers/events";
import { recordDeliveries } from "../helpers/notifications";

let a: BuildAccounts;
const DIGEST = `sha256:${"b".repeat(64)}`;
const EVENTS = ["build_queued", "build_start", "build_success", "build_failure", "build_cancelled"];

beforeAll(async () => {
  a = await makeBuildAccounts();
  for (const event of EVENTS) {
    const res = await api("POST", `/repository/${REPO}/notification/`, {
      token: a.bob,
      body: { event, method: "webhook", config: { url: `https://hooks.example.com/${event}` }, eventConfig: {} },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(201);
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Hands `events` to the notifications' subscriber; the payloads queued, by notification event. */
async function notified(events: RegistryEvent[]) {
  const queued = recordDeliveries();
  for (const event of events) await notifyEvent(env, event);
  return Object.fromEntries(queued.map((d) => [d.event, d.payload as Record<string, unknown>]));
}

const common = (uuid: string) => ({
  repository: REPO,
  namespace: "buildco",
  name: "app",
  docker_url: `registry.test/${REPO}`,
  homepage: `http://registry.test/repository/${REPO}/build/${uuid}`,
  build_id: uuid,
});

describe("build notifications", () => {
  it("queued, started, succeeded: Quay's payloads", async () => {
    const recorder = recordEvents();
    const build = (await requestArchiveBuild(a.will, { docker_tags: ["v1", "latest"] })).json;
    const job = await leaseOpenJob("build", build.id);
    await buildJobHandler.describe(job, jobContext());
    await buildJobHandler.complete(job, { manifest_digests: [DIGEST], image_id: "sha256:img" }, jobContext());
    const payloads = await notified(await recorder.published());
    expect(payloads.build_queued).toEqual({
      ...common(build.id),
      docker_tags: ["v1", "latest"],
      repo: "app",
      is_manual: true,
      manual_user: "will",
    });
    const builder = {
      ...common(build.id),
      build_name: build.display_name,
      docker_tags: ["v1", "latest"],
      trigger_id: null,
      trigger_kind: null,
      trigger_metadata: {},
    };
    expect(payloads.build_start).toEqual(builder);
    expect(payloads.build_success).toEqual({
      ...builder,
      image_id: "sha256:img",
      manifest_digests: [`registry.test/${REPO}@${DIGEST}`],
    });
  });

  it("failed and cancelled: Quay's payloads", async () => {
    const recorder = recordEvents();
    const failing = (await requestArchiveBuild(a.will)).json;
    const job = await leaseOpenJob("build", failing.id);
    await buildJobHandler.describe(job, jobContext());
    await buildJobHandler.fail(job, "Could not find or parse Dockerfile: unknown instruction: GIT", jobContext());
    const cancelled = (await requestArchiveBuild(a.will)).json;
    expect((await api("DELETE", `/repository/${REPO}/build/${cancelled.id}`, { token: a.bob })).status).toBe(201);
    const events = await recorder.published();
    const failure = await notified(events.filter((e) => e.kind === "build_failed"));
    expect(failure.build_failure).toMatchObject({
      ...common(failing.id),
      error_message: "Could not find or parse Dockerfile: unknown instruction: GIT",
    });
    const cancel = await notified(events.filter((e) => e.kind === "cancel_build"));
    expect(cancel.build_cancelled).toEqual({
      ...common(cancelled.id),
      build_name: cancelled.display_name,
      docker_tags: ["latest"],
      trigger_id: null,
      trigger_kind: null,
      trigger_metadata: {},
    });
  });

  it("a ref-regex filter lets through no manual build (it has no ref)", async () => {
    await api("POST", `/repository/${REPO}/notification/`, {
      token: a.bob,
      body: {
        event: "build_queued",
        method: "webhook",
        config: { url: "https://hooks.example.com/filtered" },
        eventConfig: { "ref-regex": "refs/heads/main" },
      },
    });
    const recorder = recordEvents();
    await requestArchiveBuild(a.will);
    const queued = recordDeliveries();
    for (const event of await recorder.published("build_dockerfile")) await notifyEvent(env, event);
    // The unfiltered build_queued notification fires; the filtered one does not.
    expect(queued.filter((d) => d.event === "build_queued")).toHaveLength(1);
  });
});
