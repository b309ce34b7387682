/**
 * Issue #18's other edges fed what an attacker sends: the trigger operations, the manifest security
 * operation, the superuser's connectors (Quay's error JSON), and the plain surfaces (`/webhooks/`,
 * `/connector/v1/`, the signed layer URLs, `/secscan/notification`: `{"error"}`). Odd ids and
 * names (control characters, unicode, 5,000 characters, `..`), bodies of the wrong type or shape,
 * odd headers. Never a 500, never HTML, whoever asks: the repository's owner, a superuser, a
 * connector, no one. (The build operations and the filedrop: builds/build-hostile-inputs.test.ts.)
 */
import { beforeAll, describe, expect, it } from "vitest";
import { answerOf } from "../helpers/api";
import { newConnector, queueJob } from "../helpers/connectors";
import { fetchWith, scannerEnv } from "../secscan/fixtures";
import { activeTrigger, type Accounts, triggerAccounts } from "../triggers/helpers";

let a: Accounts;
let trigger: string;
let connectorToken: string;
let job: { uuid: string; lease: string };

const LONG = "a".repeat(5_000);
const ODD = ["%00", "%FF", "%F0%9F%98%80", "%2e%2e", "x%20y", "A", LONG, "-", "not-a-uuid", "-1", "1e999", "%0d%0a"];
const BAD_BODIES: unknown[] = [null, 5, "x", [], [1], { a: LONG }, "{", "\u0000"];

beforeAll(async () => {
  a = await triggerAccounts();
  trigger = (await activeTrigger(a.olga, "olga/app")).id;
  connectorToken = (await newConnector(["build", "scan"])).token;
  // A job this connector holds, so the job calls reach their handlers with a live lease.
  await queueJob("scan_notification");
  const leased = await call(
    "POST",
    "/connector/v1/lease",
    { Authorization: `Bearer ${connectorToken}` },
    {
      kinds: ["scan_notification"],
    },
  );
  expect(leased.status, JSON.stringify(leased.json)).toBe(200);
  job = { uuid: leased.json.job.uuid, lease: leased.json.job.lease_token };
});

const call = async (method: string, path: string, headers: Record<string, string> = {}, body?: unknown) => {
  const init: RequestInit = { headers: { ...headers } };
  if (body !== undefined) {
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  return answerOf(await fetchWith(scannerEnv(), method, path, init));
};

/** [method, path with `*` where each odd value goes, body]. */
const API_ROUTES = (): Array<[string, string, unknown?]> => [
  ["GET", "/repository/olga/app/trigger/"],
  ["GET", "/repository/*/trigger/"],
  ["POST", "/repository/olga/app/trigger/", { service: "*" }],
  ["GET", "/repository/olga/app/trigger/*"],
  ["PUT", "/repository/olga/app/trigger/*", { enabled: true }],
  ["PUT", `/repository/olga/app/trigger/${trigger}`, { enabled: "*" }],
  ["DELETE", "/repository/olga/*/trigger/*"],
  ["POST", "/repository/olga/app/trigger/*/activate", { config: { build_source: "*" } }],
  ["POST", `/repository/olga/app/trigger/${trigger}/start`, { commit_sha: "*", refs: { kind: "*", name: "*" } }],
  ["POST", `/repository/olga/app/trigger/${trigger}/start`, { branch_name: "*" }],
  ["GET", "/repository/olga/app/trigger/*/builds?limit=*"],
  ["GET", "/repository/olga/app/manifest/*/security?vulnerabilities=*"],
  ["GET", "/repository/*/manifest/sha256:*/security"],
  ["GET", "/superuser/connectors?limit=*"],
  ["POST", "/superuser/connectors", { name: "*", kinds: ["*"] }],
  ["GET", "/superuser/connectors/jobs?state=*&kind=*&limit=*&next_page=*"],
  ["DELETE", "/superuser/connectors/*"],
];

const PLAIN_ROUTES = (): Array<[string, string, Record<string, string>, unknown?]> => [
  ["POST", "/webhooks/push/trigger/*", { Authorization: "Basic *" }, { commit: "*", ref: "*" }],
  ["POST", `/webhooks/push/trigger/${trigger}`, { Authorization: "Basic JHRva2VuOng=" }, { commit: "*" }],
  ["POST", `/webhooks/push/olga/*/trigger/${trigger}`, { "X-Hub-Signature-256": "sha256=*" }, "*"],
  ["POST", "/connector/v1/hello", { Authorization: "Bearer CT" }, { version: "*", hostname: "*", builder: "*" }],
  ["POST", "/connector/v1/lease", { Authorization: "Bearer CT" }, { kinds: ["*"] }],
  ["POST", "/connector/v1/lease", { Authorization: "Bearer *" }, { kinds: ["build"] }],
  ["POST", "/connector/v1/jobs/*/heartbeat", { Authorization: "Bearer CT", "X-Wharf-Lease": "*" }, {}],
  [
    "POST",
    "/connector/v1/jobs/JOB/heartbeat",
    { Authorization: "Bearer CT", "X-Wharf-Lease": "LEASE" },
    { phase: "*", logs: [{ message: "*" }] },
  ],
  [
    "POST",
    "/connector/v1/jobs/JOB/complete",
    { Authorization: "Bearer CT", "X-Wharf-Lease": "*" },
    { notification: "*" },
  ],
  [
    "POST",
    "/connector/v1/jobs/JOB/fail",
    { Authorization: "Bearer CT", "X-Wharf-Lease": "LEASE" },
    { error: "*", retry: "*" },
  ],
  ["GET", "/connector/v1/jobs/*/source", { "X-Wharf-Lease": "*" }],
  ["GET", "/connector/v1/layers/*", {}],
  ["GET", `/connector/v1/layers/1.${"a".repeat(64)}.${"b".repeat(64)}.*.${"A".repeat(43)}`, {}],
  ["POST", "/secscan/notification", { Authorization: "Bearer *" }, { notification_id: "*", callback: "*" }],
  ["GET", "/connector/v1/*", {}],
];

function expand(value: unknown, odd: string): unknown {
  if (typeof value === "string") return value.replaceAll("*", odd);
  if (Array.isArray(value)) return value.map((item) => expand(item, odd));
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, expand(item, odd)]));
  return value;
}

function decoded(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Header values a client can send at all: what fetch would refuse is no request. */
const headerSafe = (value: string) =>
  [...value].every((ch) => ch.charCodeAt(0) < 256 && ch !== "\r" && ch !== "\n" && ch.charCodeAt(0) !== 0);

describe("hostile inputs to issue #18's operations and surfaces", () => {
  for (const [who, token] of [
    ["the repository's owner", () => a.olga],
    ["a superuser", () => a.admin],
    ["no one", () => undefined],
  ] as const) {
    it(`answer ${who} Quay's error JSON on /api/v1, never a 500`, async () => {
      const failures: string[] = [];
      for (const [method, template, body] of API_ROUTES()) {
        for (const odd of ODD) {
          const path = `/api/v1${template.replaceAll("*", odd)}`;
          const headers: Record<string, string> = token() ? { Authorization: `Bearer ${token()}` } : {};
          for (const sent of body === undefined ? [undefined] : [expand(body, decoded(odd)), ...BAD_BODIES]) {
            const res = await call(method, path, headers, sent);
            const shaped =
              res.status < 400 || (typeof res.json === "object" && res.json !== null && "error_type" in res.json);
            if (res.status >= 500 || !shaped)
              failures.push(
                `${method} ${path.slice(0, 100)} ${JSON.stringify(sent)?.slice(0, 60)} → ${res.status} ${JSON.stringify(res.json).slice(0, 160)}`,
              );
          }
        }
      }
      expect(failures).toEqual([]);
    });
  }

  it("answer the plain surfaces' {error} JSON, never a 500", async () => {
    const failures: string[] = [];
    for (const [method, template, headerTemplate, body] of PLAIN_ROUTES()) {
      for (const odd of ODD) {
        const path = template.replaceAll("*", odd).replace("JOB", job.uuid);
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(headerTemplate)) {
          const filled = value.replaceAll("*", decoded(odd)).replace("CT", connectorToken).replace("LEASE", job.lease);
          if (headerSafe(filled)) headers[name] = filled;
        }
        for (const sent of body === undefined ? [undefined] : [expand(body, decoded(odd)), ...BAD_BODIES]) {
          const res = await call(method, path, headers, sent);
          const shaped = res.status < 400 || (typeof res.json === "object" && res.json !== null && "error" in res.json);
          if (res.status >= 500 || !shaped)
            failures.push(
              `${method} ${path.slice(0, 100)} ${JSON.stringify(sent)?.slice(0, 60)} → ${res.status} ${JSON.stringify(res.json).slice(0, 160)}`,
            );
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it("answer a result nested a million deep (a JSON bomb) with {error}, never a 500, the lease still held", async () => {
    const deep = `{"notifications": ${"[".repeat(1_000_000)}${"]".repeat(1_000_000)}}`;
    const headers = { Authorization: `Bearer ${connectorToken}`, "X-Wharf-Lease": job.lease };
    const res = await call("POST", `/connector/v1/jobs/${job.uuid}/complete`, headers, deep);
    expect(res.status).toBeLessThan(500);
    expect(res.json).toMatchObject({ error: expect.any(String) });
  });
});
