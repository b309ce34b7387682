/**
 * Quay's log export, its rules (src/routes/api/logs-export.ts): FEATURE_LOG_EXPORT, one export
 * at a time per namespace (concurrent requests too), Quay's refusals logged as export_logs_failure,
 * acceptance as export_logs_success, and who may export. The delivery: ./log-export.test.ts.

 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { api, expectQuayError } from "../helpers/api";
import { tokenFor } from "../helpers/accounts";
import { logsOf, recordLogs } from "../helpers/action-logs";
import { HOOK, makeExportAccounts, receiveAt, recordExportJobs } from "../helpers/log-exports";
import { requestWith } from "../helpers/mailbox";

let erin: string;
let fred: string;

beforeAll(async () => {
  ({ erin, fred } = await makeExportAccounts());
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("FEATURE_LOG_EXPORT", () => {
  it("off: the three operations are 404 and nothing is queued", async () => {
    const jobs = recordExportJobs();
    const off = { ...env, FEATURE_LOG_EXPORT: "false" } as unknown as Env;
    for (const path of ["/user/exportlogs", "/organization/erinco/exportlogs", "/repository/erinco/app/exportlogs"]) {
      const res = await requestWith(off, "POST", `/api/v1${path}`, {
        token: erin,
        body: { callback_url: `${HOOK}/off` },
      });
      expect(res.status, path).toBe(404);
    }
    expect(jobs.jobs).toEqual([]);
  });
});

describe("one export at a time per namespace", () => {
  it("refuses a second export while one runs (Quay's 400), and accepts one once it is delivered", async () => {
    const jobs = recordExportJobs();
    receiveAt(HOOK);
    const body = { callback_url: `${HOOK}/x` };
    const first = await api("POST", "/user/exportlogs", { token: fred, body });
    expect(first.status, JSON.stringify(first.json)).toBe(200);
    const second = await api("POST", "/user/exportlogs", { token: fred, body });
    expectQuayError(second, 400, "invalid_request", /already running/);
    // Another namespace is not held up.
    expect((await api("POST", "/organization/erinco/exportlogs", { token: erin, body })).status).toBe(200);
    await jobs.run();
    expect((await api("POST", "/user/exportlogs", { token: fred, body })).status).toBe(200);
    await jobs.run();
  });

  it("two exports asked at once: exactly one is accepted", async () => {
    const jobs = recordExportJobs();
    receiveAt(HOOK);
    const body = { callback_url: `${HOOK}/race` };
    const answers = await Promise.all(
      Array.from({ length: 4 }, () => api("POST", "/organization/erinco/exportlogs", { token: erin, body })),
    );
    expect(answers.map((a) => a.status).sort()).toEqual([200, 400, 400, 400]);
    await jobs.run();
  });
});

describe("refusals and access", () => {
  it("Quay's 400s, each logged as export_logs_failure; acceptance logged as export_logs_success", async () => {
    const logs = recordLogs();
    const jobs = recordExportJobs();
    const bad = await api("POST", "/user/exportlogs", { token: fred, body: { callback_url: "ftp://x.example.com/" } });
    expectQuayError(bad, 400, "invalid_request", "Invalid callback URL");
    const mail = await api("POST", "/user/exportlogs", { token: fred, body: { callback_email: "nobody" } });
    expectQuayError(mail, 400, "invalid_request", "Invalid callback e-mail");
    const none = await api("POST", "/user/exportlogs", { token: fred, body: {} });
    expectQuayError(none, 400, "invalid_request", /callback_url or a callback_email/);
    const span = await api("POST", "/user/exportlogs?starttime=02/01/2024&endtime=01/01/2024", {
      token: fred,
      body: { callback_url: `${HOOK}/y` },
    });
    expectQuayError(span, 400, "invalid_request", "Invalid time span selected");
    const ok = await api("POST", "/user/exportlogs", { token: fred, body: { callback_url: `${HOOK}/y` } });
    expect(ok.status).toBe(200);
    expect(jobs.jobs).toHaveLength(1);
    await logs.deliver();
    const entries = await logsOf(fred, "/user/logs");
    const failures = entries.filter((e) => e.kind === "export_logs_failure").map((e) => e.metadata.error);
    expect(failures.sort()).toEqual(
      [
        "Invalid callback URL",
        "Invalid callback e-mail",
        "A callback_url or a callback_email is required",
        "Invalid time span selected",
      ].sort(),
    );
    const success = entries.find((e) => e.kind === "export_logs_success");
    expect(success.metadata).toMatchObject({ export_id: ok.json.export_id, url: `${HOOK}/y`, email: null });
    receiveAt(HOOK);
    await jobs.run();
  });

  it("admins only: 403 for an organization's non-admin, 404 for whoever cannot see a repository", async () => {
    const body = { callback_url: `${HOOK}/z` };
    expectQuayError(
      await api("POST", "/organization/erinco/exportlogs", { token: fred, body }),
      403,
      "insufficient_scope",
    );
    expect((await api("POST", "/repository/erinco/app/exportlogs", { token: fred, body })).status).toBe(404);
    expect((await api("POST", "/user/exportlogs", { body })).status).toBe(401);
    const readOnly = await tokenFor("fred", ["repo:read"]);
    expectQuayError(await api("POST", "/user/exportlogs", { token: readOnly, body }), 403, "insufficient_scope");
  });

  it("does not call a private callback address (the outbound guard), yet completes the export", async () => {
    const jobs = recordExportJobs();
    const spy = vi.spyOn(globalThis, "fetch");
    const res = await api("POST", "/user/exportlogs", { token: fred, body: { callback_url: "http://10.0.0.1/cb" } });
    expect(res.status).toBe(200);
    await jobs.run();
    expect(
      spy.mock.calls.filter(([input]) => String(input instanceof Request ? input.url : input).includes("10.0.0.1")),
    ).toEqual([]);
  });
});
