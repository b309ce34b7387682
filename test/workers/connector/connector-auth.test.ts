/**
 * Who may call `/connector/v1` (docs/connector.md, "Who may call"): a connector's bearer token,
 * kept only as its SHA-256 and refused once the connector is deleted; the kinds it was granted
 * (`scan` bringing `scan_notification`); hello; `lastSeenAt` written at most once a minute; the
 * contract's error shape for bad bodies, oversized bodies and unknown paths.
 */
import { eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { deleteConnector, TOKEN_PREFIX } from "../../../src/connector/connectors";
import { connectors } from "../../../src/db/schema";
import { sha256Hex } from "../../../src/lib/encoding";
import { db } from "../helpers/accounts";
import { advanceClock, freezeClock } from "../helpers/clock";
import {
  clearJobs,
  connectorCall,
  lease,
  newConnector,
  queueJob,
  recordingHandler,
  registerHandler,
} from "../helpers/connectors";
import { fixtureEvents } from "../helpers/events";

const row = async (id: number) => (await db().select().from(connectors).where(eq(connectors.id, id)).get())!;

let unregister: (() => void)[] = [];

beforeEach(async () => {
  await clearJobs();
  unregister = ["build", "scan", "scan_notification"].map((kind) => registerHandler(recordingHandler(kind as "build")));
});

afterEach(() => {
  for (const undo of unregister) undo();
});

describe("the connector's token", () => {
  it("is wharfc_ and 40 characters, kept only as its SHA-256", async () => {
    const { connector, token } = await newConnector();
    expect(token).toMatch(/^wharfc_[A-Za-z0-9]{40}$/);
    expect(connector.tokenHash).toBe(await sha256Hex(token));
    expect(JSON.stringify(await row(connector.id))).not.toContain(token.slice(TOKEN_PREFIX.length));
  });

  it("is required on every call, answered 401 in the contract's shape", async () => {
    const { token } = await newConnector();
    const wrong = `${TOKEN_PREFIX}${"A".repeat(40)}`;
    for (const auth of [null, wrong, token.slice(0, -1), "wharfc_short", `${token}x`]) {
      const res = await connectorCall(auth, "POST", "/lease", { body: { kinds: ["build"] } });
      expect(res.status, String(auth)).toBe(401);
      expect(res.json).toEqual({ error: "unauthorized", message: "A connector token is required" });
      expect(res.headers.get("WWW-Authenticate")).toBe('Bearer realm="wharf-connector"');
    }
    const basic = await connectorCall(null, "POST", "/lease", {
      headers: { Authorization: `Basic ${btoa(`x:${token}`)}` },
      body: { kinds: ["build"] },
    });
    expect(basic.status).toBe(401);
    expect((await lease(token, ["build"])).status).toBe(204);
  });

  it("stops working when its connector is deleted", async () => {
    const { connector, token } = await newConnector();
    expect((await connectorCall(token, "POST", "/lease", { body: { kinds: ["build"] } })).status).toBe(204);
    await deleteConnector(db(), connector, fixtureEvents());
    expect((await lease(token, ["build"])).status).toBe(401);
  });
});

describe("kinds", () => {
  it("refuses a kind the connector was not granted (403 denied); scan brings scan_notification", async () => {
    const builder = await newConnector(["build"]);
    const scanner = await newConnector(["scan"]);
    const refused = await lease(builder.token, ["build", "scan"]);
    expect(refused).toMatchObject({ status: 403, json: { error: "denied", message: expect.stringContaining("scan") } });
    expect((await lease(scanner.token, ["build"])).status).toBe(403);
    const notification = await queueJob("scan_notification");
    const leased = await lease(scanner.token, ["scan", "scan_notification"]);
    expect(leased.json.job).toMatchObject({ uuid: notification.uuid, kind: "scan_notification" });
  });

  it("leases only the kinds asked for", async () => {
    const { token } = await newConnector(["build", "scan"]);
    const scan = await queueJob("scan");
    expect((await lease(token, ["build"])).status).toBe(204);
    expect((await lease(token, ["scan"])).json.job.uuid).toBe(scan.uuid);
  });
});

describe("hello", () => {
  it("records what the connector says of itself and answers its settings", async () => {
    const at = freezeClock();
    const { connector, token } = await newConnector(["scan"], "edge-builder");
    const hello = { version: "1.2.0", hostname: "build-01", builder: "podman", scanner: true };
    const res = await connectorCall(token, "POST", "/hello", { body: hello });
    expect(res).toMatchObject({
      status: 200,
      json: {
        connector: { uuid: connector.uuid, name: "edge-builder", kinds: ["scan", "scan_notification"] },
        lease_seconds: 60,
        heartbeat_seconds: 15,
        poll_seconds: 5,
        server_time: at,
      },
    });
    expect(await row(connector.id)).toMatchObject({ lastSeenAt: at, info: JSON.stringify(hello) });
    const bad = await connectorCall(token, "POST", "/hello", { body: { ...hello, builder: "docker" } });
    expect(bad).toMatchObject({ status: 400, json: { error: "invalid", message: expect.stringContaining("builder") } });
  });

  it("marks the connector seen at most once a minute", async () => {
    const at = freezeClock();
    const { connector, token } = await newConnector(["build"]);
    expect((await row(connector.id)).lastSeenAt).toBeNull();
    await lease(token, ["build"]);
    expect((await row(connector.id)).lastSeenAt).toBe(at);
    advanceClock(59_000);
    await lease(token, ["build"]);
    expect((await row(connector.id)).lastSeenAt).toBe(at);
    advanceClock(1_000);
    await lease(token, ["build"]);
    expect((await row(connector.id)).lastSeenAt).toBe(at + 60_000);
  });
});

describe("bodies and paths", () => {
  it("refuses malformed, invalid and oversized bodies, and unknown paths, in the contract's shape", async () => {
    const { token } = await newConnector(["build"]);
    expect(await connectorCall(token, "POST", "/lease", { body: "{nope" })).toMatchObject({
      status: 400,
      json: { error: "invalid", message: "The body is not JSON" },
    });
    expect((await connectorCall(token, "POST", "/lease", { body: { kinds: [] } })).json.error).toBe("invalid");
    expect((await connectorCall(token, "POST", "/lease", { body: { kinds: ["push"] } })).status).toBe(400);
    const huge = await connectorCall(token, "POST", "/lease", {
      body: JSON.stringify({ kinds: ["build"], pad: "x".repeat(1024 * 1024) }),
    });
    expect(huge).toMatchObject({ status: 413, json: { error: "too_large" } });
    const job = await queueJob("build");
    const leaseToken = (await lease(token, ["build"])).json.job.lease_token;
    const declared = await connectorCall(token, "POST", `/jobs/${job.uuid}/complete`, {
      lease: leaseToken,
      headers: { "Content-Length": String(32 * 1024 * 1024 + 1) },
      body: "{}",
    });
    expect(declared.status).toBe(413);
    for (const path of ["/nothing", "/v2/lease"]) {
      const res = await connectorCall(token, "GET", path);
      expect(res).toMatchObject({ status: 404, json: { error: "not_found", message: expect.any(String) } });
    }
    expect((await connectorCall(null, "GET", "/../connector/x")).status).toBe(404);
  });
});
