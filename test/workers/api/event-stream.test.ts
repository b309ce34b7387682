/**
 * The live event stream (src/routes/api/events.ts, src/events/live*.ts, durable-objects/
 * EventStreamDO.ts): Server-Sent Events of a repository and of an organization, fed from the commit
 * point through the namespace's stream object. A push reaches a subscriber; Last-Event-ID resumes
 * from the object's buffer (or answers `reset`); outsiders get 404; the organization stream shows a
 * member only what it may read; a reader whose permission is revoked stops receiving.
 */
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { STREAM_BUFFER_AGE_MS, streamObject } from "../../../src/events/live";
import { findRepository } from "../../../src/registry/repositories";
import { RECHECK_MS, STREAM_LIFETIME_MS } from "../../../src/events/live-sse";
import { db, joinTeam, makeUser, pushTaggedAs, tokenFor } from "../helpers/accounts";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { browser } from "../helpers/signed-in";
import { recordEvents } from "../helpers/events";
import { advanceClock } from "../helpers/clock";
import { request } from "../helpers/registry";
import { type Frame, Subscriber, waitFor } from "../helpers/event-stream";

let olga: string; // admin of acme
let rita: string; // member of acme, read on acme/app only
let otto: string; // no relation to acme
const passwords: Record<string, string> = {};
const open: Subscriber[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function subscribe(
  path: string,
  token?: string,
  lastEventId?: string,
  more: Record<string, string> = {},
): Promise<Subscriber> {
  const headers: Record<string, string> = { ...more };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (lastEventId) headers["Last-Event-ID"] = lastEventId;
  const res = await request("GET", `/api/v1${path}`, { headers });
  expect(res.status).toBe(200);
  expect(res.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
  const subscriber = new Subscriber(res);
  open.push(subscriber);
  return subscriber;
}

beforeAll(async () => {
  const admin = await initializeAdmin();
  for (const name of ["olga", "rita", "otto"]) passwords[name] = await makeUser(admin, name);
  olga = await tokenFor("olga");
  rita = await tokenFor("rita");
  otto = await tokenFor("otto");
  expect((await api("POST", "/organization/", { token: olga, body: { name: "acme" } })).status).toBe(201);
  await joinTeam("acme", "readers", "member", "rita");
  await pushTaggedAs("olga", "acme/app", "v0");
  await pushTaggedAs("olga", "acme/secret", "v0");
  const grant = await api("PUT", "/repository/acme/app/permissions/user/rita", { token: olga, body: { role: "read" } });
  expect(grant.status).toBe(200);
});

describe("the repository stream", () => {
  it("delivers a push's event to a reader, with the documented JSON, within the bound", async () => {
    const stream = await subscribe("/repository/acme/app/events", rita);
    const digest = await pushTaggedAs("olga", "acme/app", "v1");
    // From the manifest PUT's answer (the commit is before it) to the event in the client's hands.
    const answeredAt = Date.now();
    const frame = await stream.nextPush();
    const latency = Date.now() - answeredAt;
    expect(frame).toMatchObject({ event: "push_repo" });
    expect(frame!.id).toBe(frame!.data.id);
    expect(frame!.data).toMatchObject({
      kind: "push_repo",
      namespace: "acme",
      repository: { name: "acme/app" },
      actor: { kind: "user", name: "olga" },
      ip: null,
      data: { digest, tag: "v1" },
    });
    console.log(JSON.stringify({ msg: "event stream latency", answerToReceiveMs: latency }));
  });

  it("shows the client address to the repository's admins only", async () => {
    const digest = await pushTaggedAs("olga", "acme/app", "addressed");
    const admin = await subscribe("/repository/acme/app/events", olga);
    const reader = await subscribe("/repository/acme/app/events", rita);
    const tagged = await api("PUT", "/repository/acme/app/tag/from-somewhere", {
      token: olga,
      body: { manifest_digest: digest },
      headers: { "CF-Connecting-IP": "203.0.113.7" },
    });
    expect(tagged.status).toBe(201);
    const created = (frame: Frame | null) => frame?.event === "create_tag";
    const seenBy = async (s: Subscriber) => {
      for (;;) {
        const frame = await s.next();
        if (frame === null || created(frame)) return frame;
      }
    };
    expect((await seenBy(admin))!.data).toMatchObject({ ip: "203.0.113.7", data: { tag: "from-somewhere" } });
    expect((await seenBy(reader))!.data).toMatchObject({ ip: null, data: { tag: "from-somewhere" } });
  });

  it("resumes after Last-Event-ID from the buffer, and answers reset for an id it no longer holds", async () => {
    const live = await subscribe("/repository/acme/app/events", olga);
    await pushTaggedAs("olga", "acme/app", "r1");
    await pushTaggedAs("olga", "acme/app", "r2");
    const first = (await live.nextPush())!;
    const second = (await live.nextPush())!;
    expect([first.data.data.tag, second.data.data.tag]).toEqual(["r1", "r2"]);

    const resumed = await subscribe("/repository/acme/app/events", olga, first.id);
    expect(await resumed.next()).toMatchObject({ id: second.id, event: "push_repo" });
    await pushTaggedAs("olga", "acme/app", "r3");
    expect((await resumed.nextPush())!.data.data.tag).toBe("r3");

    const lost = await subscribe("/repository/acme/app/events", olga, crypto.randomUUID());
    expect(await lost.next()).toMatchObject({ event: "reset" });
  });

  it("ends cleanly when the client goes: the stream object no longer counts it", async () => {
    const { id } = (await findRepository(db(), "acme/app"))!;
    const hub = streamObject(env, "acme");
    const before = await hub.subscriberCount(id);
    const stream = await subscribe("/repository/acme/app/events", rita);
    await waitFor(async () => (await hub.subscriberCount(id)) === before + 1);
    await stream.close();
    await waitFor(async () => (await hub.subscriberCount(id)) === before);
  });

  it("stores and sends a repeated publication once (by event id)", async () => {
    const stream = await subscribe("/repository/acme/app/events", olga);
    await pushTaggedAs("olga", "acme/app", "once");
    const once = (await stream.nextPush())!;
    await streamObject(env, "acme").publish([once.data]);
    await pushTaggedAs("olga", "acme/app", "twice");
    expect((await stream.nextPush())!.data.data.tag).toBe("twice");
  });

  it("forgets events a day old: resuming after one answers reset", async () => {
    const live = await subscribe("/repository/acme/app/events", olga);
    await pushTaggedAs("olga", "acme/app", "old");
    const old = (await live.nextPush())!;
    await live.close();
    advanceClock(STREAM_BUFFER_AGE_MS + 1);
    expect(await runDurableObjectAlarm(streamObject(env, "acme"))).toBe(true);
    const resumed = await subscribe("/repository/acme/app/events", await tokenFor("olga"), old.id);
    expect(await resumed.next()).toMatchObject({ event: "reset" });
  });

  it("answers 503 with Retry-After, not 500, when the stream object cannot take the subscription", async () => {
    vi.spyOn(env.EVENT_STREAM, "get").mockReturnValue({
      fetch: async () => {
        throw new Error("Durable Object is overloaded");
      },
    } as never);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const res = await api("GET", "/repository/acme/app/events", { token: olga });
    expectQuayError(res, 503, "service_unavailable");
    expect(res.headers.get("Retry-After")).toBe("3");
    vi.restoreAllMocks();
  });

  it("a failed publication to the stream fails nothing: the push succeeds, the queue still gets its event", async () => {
    vi.spyOn(env.EVENT_STREAM, "get").mockReturnValue({
      publish: async () => {
        throw new Error("Durable Object reset");
      },
    } as never);
    const errors = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const recorder = recordEvents();
    await pushTaggedAs("olga", "acme/app", "unstreamed");
    const [pushed] = await recorder.published("push_repo");
    expect(pushed!.data.tag).toBe("unstreamed");
    await waitFor(async () =>
      errors.mock.calls.some(([line]) => String(line).includes("live stream publication dropped")),
    );
    vi.restoreAllMocks();
  });

  it("follows a signed-in browser's session, and ends once it signed out", async () => {
    const session = await browser("rita", passwords.rita!);
    const stream = await subscribe("/repository/acme/app/events", undefined, undefined, session);
    await pushTaggedAs("olga", "acme/app", "seen-by-browser");
    expect((await stream.nextPush())!.data.data.tag).toBe("seen-by-browser");
    expect((await api("POST", "/signout", { headers: session })).status).toBe(200);
    advanceClock(RECHECK_MS + 1);
    await pushTaggedAs("olga", "acme/app", "after-signout");
    expect(await stream.nextPush()).toBeNull();
  });

  it("ends a stream after its lifetime, for the client to resume from the buffer", async () => {
    const stream = await subscribe("/repository/acme/app/events", olga);
    await pushTaggedAs("olga", "acme/app", "young");
    const young = (await stream.nextPush())!;
    advanceClock(STREAM_LIFETIME_MS);
    await pushTaggedAs("olga", "acme/app", "late");
    expect(await stream.nextPush()).toBeNull();
    const resumed = await subscribe("/repository/acme/app/events", olga, young.id);
    expect((await resumed.nextPush())!.data.data.tag).toBe("late");
  });

  it("answers HEAD with the stream's headers and no subscription", async () => {
    const { id } = (await findRepository(db(), "acme/app"))!;
    const before = await streamObject(env, "acme").subscriberCount(id);
    const head = await request("HEAD", "/api/v1/repository/acme/app/events", {
      headers: { Authorization: `Bearer ${rita}` },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Type")).toMatch(/^text\/event-stream/);
    expect(await head.text()).toBe("");
    expect(await streamObject(env, "acme").subscriberCount(id)).toBe(before);
    const outsider = await request("HEAD", "/api/v1/repository/acme/app/events", {
      headers: { Authorization: `Bearer ${otto}` },
    });
    expect(outsider.status).toBe(404);
  });

  it("leaves /repository/{namespace}/events to the repository named `events`", async () => {
    await pushTaggedAs("olga", "acme/events", "v0");
    const repo = await api("GET", "/repository/acme/events", { token: olga });
    expect(repo.status).toBe(200);
    expect(repo.json).toMatchObject({ namespace: "acme", name: "events" });
  });

  it("answers 404 to outsiders of a private repository, and 400 to a malformed Last-Event-ID", async () => {
    for (const token of [otto, undefined]) {
      const headers: Record<string, string> = token ? { Authorization: `Bearer ${token}` } : {};
      expectQuayError(await api("GET", "/repository/acme/app/events", { headers }), 404, "not_found");
    }
    expectQuayError(
      await api("GET", "/repository/acme/app/events", { token: olga, headers: { "Last-Event-ID": "x".repeat(101) } }),
      400,
      "invalid_request",
    );
  });

  it("stops delivering to a reader whose permission was revoked, at the next check", async () => {
    const stream = await subscribe("/repository/acme/app/events", rita);
    await pushTaggedAs("olga", "acme/app", "before");
    expect((await stream.nextPush())!.data.data.tag).toBe("before");
    const revoked = await api("DELETE", "/repository/acme/app/permissions/user/rita", { token: olga });
    expect(revoked.status).toBe(204);
    advanceClock(RECHECK_MS + 1);
    await pushTaggedAs("olga", "acme/app", "after");
    // The revocation's own event may come first, while the last check still holds; then the end.
    expect(await stream.nextPush()).toBeNull();
    await api("PUT", "/repository/acme/app/permissions/user/rita", { token: olga, body: { role: "read" } });
  });
});

describe("the organization stream", () => {
  it("shows a member only the events of repositories it may read; admins see all", async () => {
    const member = await subscribe("/organization/acme/events", rita);
    const admin = await subscribe("/organization/acme/events", olga);
    await pushTaggedAs("olga", "acme/secret", "s1");
    await pushTaggedAs("olga", "acme/app", "a1");
    // Events leave the namespace's object in order: seeing a1 first means s1 was filtered out.
    expect(await member.nextPush()).toMatchObject({ data: { repository: { name: "acme/app" }, data: { tag: "a1" } } });
    expect((await admin.nextPush())!.data.data.tag).toBe("s1");
    expect((await admin.nextPush())!.data.data.tag).toBe("a1");
  });

  it("shows events about no repository (a new team) to the organization's admins only", async () => {
    const member = await subscribe("/organization/acme/events", rita);
    const admin = await subscribe("/organization/acme/events", olga);
    expect(
      (await api("PUT", "/organization/acme/team/newcomers", { token: olga, body: { role: "member" } })).status,
    ).toBe(200);
    await pushTaggedAs("olga", "acme/app", "after-team");
    /** The kinds a subscriber saw up to the push tagged after-team. */
    const kindsUntilPush = async (s: Subscriber) => {
      const kinds: string[] = [];
      for (;;) {
        const frame = await s.next();
        if (frame === null) return kinds;
        kinds.push(frame.event!);
        if (frame.event === "push_repo" && frame.data.data.tag === "after-team") return kinds;
      }
    };
    expect(await kindsUntilPush(admin)).toContain("org_create_team");
    expect(await kindsUntilPush(member)).not.toContain("org_create_team");
  });

  it("refuses outsiders with 403", async () => {
    expectQuayError(await api("GET", "/organization/acme/events", { token: otto }), 403, "insufficient_scope");
    expectQuayError(await api("GET", "/organization/nowhere/events", { token: otto }), 403, "insufficient_scope");
  });
});
