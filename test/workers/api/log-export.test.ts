/**
 * Quay's log export end to end in workerd (src/routes/api/logs-export.ts, src/events/logs-export*.ts):
 * `POST …/exportlogs` answers `{export_id}`; the queued job builds the file in R2 in steps; the
 * callback receives Quay's JSON with a signed link that Wharf serves for an hour; e-mail instead
 * of a callback; a stuck export failed by the cron; the cron's sweep. The rules: ./log-export-rules.test.ts.
 */
import { env } from "cloudflare:workers";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { sql } from "drizzle-orm";
import { deliverExport, sweepLogExports } from "../../../src/events/logs-export-delivery";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";
import { sweepR2 } from "../../../src/gc/r2-sweep";
import { allShardDbs } from "../../../src/db/shards";
import { logExportPartKey } from "../../../src/storage/keys";
import { api, createPrivateRepository } from "../helpers/api";
import { db } from "../helpers/accounts";
import { consume } from "../helpers/action-logs";
import { advanceClock } from "../helpers/clock";
import { HOOK, makeExportAccounts, receiveAt, recordExportJobs } from "../helpers/log-exports";
import { mailingEnv, mailsSince, mailFiles, requestWith } from "../helpers/mailbox";
import { request } from "../helpers/registry";

let erin: string;
let fred: string;

beforeAll(async () => {
  ({ erin, fred } = await makeExportAccounts());
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Entries of `namespace` in the action logs, `n` of them, a second apart, ending now. */
async function seedEntries(namespace: string, n: number, repository?: string) {
  const now = Date.now();
  await db().run(sql`insert into action_logs (kind, performer_name, namespace_id, namespace_name, repository_id,
      repository_name, metadata, datetime)
    select 'push_repo', ${namespace}, (select id from users where username = ${namespace}), ${namespace},
      (select id from repositories where name = ${repository ?? null}), ${repository ?? null},
      json_object('n', value), ${now} - value * 1000
    from json_each(${JSON.stringify(Array.from({ length: n }, (_, i) => i))})`);
}

async function fetchLink(url: string) {
  return request("GET", new URL(url).pathname);
}

describe("an export to a callback URL", () => {
  it("builds Quay's file in R2 in steps, posts Quay's JSON with a signed link Wharf serves for an hour", async () => {
    await seedEntries("erinco", 620, "erinco/app");
    const jobs = recordExportJobs();
    const received = receiveAt(HOOK);
    const res = await api("POST", "/organization/erinco/exportlogs", {
      token: erin,
      body: { callback_url: `${HOOK}/done` },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const exportId = res.json.export_id as string;
    expect(res.json).toEqual({ export_id: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    expect(received).toEqual([]);

    const steps = await jobs.run();
    // 620 entries: four build steps of at most 200, then the delivery.
    expect(steps.map((s) => (s.type === "export_logs" ? s.phase : s.type))).toEqual([
      "build",
      "build",
      "build",
      "build",
      "deliver",
    ]);
    const store = new R2BlobStore(env.BLOBS);
    expect(await store.size(logExportPartKey(exportId, 0))).toBeGreaterThan(0);
    expect(await store.size(logExportPartKey(exportId, 1))).toBeGreaterThan(0);

    expect(received).toHaveLength(1);
    expect(received[0]!.url).toBe(`${HOOK}/done`);
    expect(received[0]!.headers.get("Content-Type")).toBe("application/json");
    const callback = received[0]!.body;
    expect(callback).toEqual({
      export_id: exportId,
      start_time: expect.stringMatching(/^\d{2}\/\d{2}\/\d{4}$/),
      end_time: expect.stringMatching(/^\d{2}\/\d{2}\/\d{4}$/),
      namespace: "erinco",
      repository: null,
      exported_data_url: expect.stringMatching(/^http:\/\/registry\.test\/exportedlogs\/[^/]+$/),
      status: "success",
    });

    const file = await fetchLink(callback.exported_data_url);
    expect(file.status).toBe(200);
    expect(file.headers.get("Content-Type")).toBe("application/json");
    const exported = JSON.parse(await file.text());
    expect(exported.export_id).toBe(exportId);
    expect(exported.details).toMatchObject({ namespace: "erinco", repository: null });
    const logs = exported.logs as any[];
    expect(logs.at(-1)).toEqual({ terminator: true });
    const pushes = logs.filter((e) => e.kind === "push_repo");
    expect(pushes).toHaveLength(620);
    // Newest first, as the listing reads them, each as the listing shows it.
    expect(pushes[0]).toMatchObject({ kind: "push_repo", metadata: { n: 0 }, ip: null });
    expect(pushes[619].metadata).toEqual({ n: 619 });

    // A forged link is 404; the link an hour later 403; neither gives the file.
    const link = new URL(callback.exported_data_url).pathname;
    const mac = link.slice(link.lastIndexOf(".") + 1);
    const flipped = (i: number) => mac.slice(0, i) + (mac[i] === "A" ? "B" : "A") + mac.slice(i + 1);
    for (const forged of [flipped(10), flipped(42)])
      expect((await request("GET", link.replace(mac, forged))).status, forged).toBe(404);
    expect((await request("GET", link.replace(exportId, crypto.randomUUID()))).status).toBe(404);
    advanceClock(3601_000);
    const expired = await request("GET", link);
    expect(expired.status).toBe(403);
    expect(await expired.text()).not.toContain("terminator");

    // Garbage collection's R2 sweep leaves the parts alone, however old: no row names them.
    for (let wrapped = false; !wrapped; )
      ({ wrapped } = await sweepR2(allShardDbs(env), store, Date.now() + 30 * 86_400_000, 0, 1000));
    expect(await store.size(logExportPartKey(exportId, 0))).not.toBeNull();

    // The cron leaves the file a day, then removes it with its export.
    await sweepLogExports(env, store, Date.now() + 3601_000);
    expect(await store.size(logExportPartKey(exportId, 0))).not.toBeNull();
    expect(await sweepLogExports(env, store, Date.now() + 26 * 3600_000)).toMatchObject({ removed: 1 });
    expect(await store.size(logExportPartKey(exportId, 0))).toBeNull();
    expect(await store.size(logExportPartKey(exportId, 3))).toBeNull();
  });

  it("a repository's export holds the repository's entries only; a failing receiver is retried", async () => {
    await createPrivateRepository(erin, "erinco", "other");
    await seedEntries("erinco", 3, "erinco/other");
    const jobs = recordExportJobs();
    const received = receiveAt(HOOK, 500);
    const res = await api("POST", "/repository/erinco/other/exportlogs?starttime=01/01/2000", {
      token: erin,
      body: { callback_url: `${HOOK}/repo` },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    // From 2000 on: the archive's days are read too, a month a page, in several steps.
    while (jobs.jobs[0]?.type === "export_logs" && jobs.jobs[0].phase === "build") await consume([jobs.jobs.shift()!]);
    const deliver = jobs.jobs.shift() as { type: "export_logs"; exportId: string; phase: "deliver" };
    expect(deliver).toEqual({ type: "export_logs", exportId: res.json.export_id, phase: "deliver" });
    // The receiver answers 500: the delivery step throws, so the queue retries it.
    await expect(deliverExport(env, deliver.exportId)).rejects.toThrow(/answered 500/);
    expect(received).toHaveLength(1);
    vi.restoreAllMocks();
    const ok = receiveAt(HOOK);
    await consume([deliver]);
    expect(ok).toHaveLength(1);
    expect(ok[0]!.body).toMatchObject({ namespace: "erinco", repository: "other", status: "success" });
    expect(ok[0]!.body.start_time).toBe("01/01/2000");
    const exported = JSON.parse(await (await fetchLink(ok[0]!.body.exported_data_url)).text());
    expect(exported.details).toMatchObject({ namespace: "erinco", repository: "other" });
    expect(exported.logs.filter((e: any) => e.kind === "push_repo")).toHaveLength(3);
  });
});

describe("an export to an e-mail address", () => {
  it("mails the link (FEATURE_MAILING on)", async () => {
    const target = mailingEnv();
    const jobs = recordExportJobs();
    const before = await mailFiles();
    const res = await requestWith(target, "POST", "/api/v1/user/exportlogs", {
      token: fred,
      body: { callback_email: "fred@example.com" },
    });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    await jobs.run(target);
    const [mail] = await mailsSince(before);
    expect(mail?.headers.to).toBe("fred@example.com");
    expect(mail?.headers.subject).toContain("Export Action Logs Complete");
    const link = /(http:\/\/registry\.test\/exportedlogs\/\S+)/.exec(mail!.text)?.[1];
    expect(link).toBeDefined();
    const file = await fetchLink(link!);
    expect(file.status).toBe(200);
    expect(JSON.parse(await file.text())).toMatchObject({
      export_id: res.json.export_id,
      details: { namespace: "fred" },
    });
  });
});

describe("an export whose steps keep failing", () => {
  it("is failed on the cron after two hours, reported so, and frees its namespace", async () => {
    const jobs = recordExportJobs();
    const received = receiveAt(HOOK);
    const body = { callback_url: `${HOOK}/stuck` };
    const res = await api("POST", "/user/exportlogs", { token: erin, body });
    expect(res.status).toBe(200);
    jobs.jobs.splice(0); // its build steps never succeed
    const store = new R2BlobStore(env.BLOBS);
    expect(await sweepLogExports(env, store, Date.now() + 3600_000)).toMatchObject({ failed: 0 });
    expect(await sweepLogExports(env, store, Date.now() + 2 * 3600_000 + 1000)).toMatchObject({ failed: 1 });
    expect(jobs.jobs).toEqual([{ type: "export_logs", exportId: res.json.export_id, phase: "deliver" }]);
    await jobs.run();
    expect(received.map((r) => r.body)).toEqual([
      expect.objectContaining({ export_id: res.json.export_id, exported_data_url: null, status: "failed" }),
    ]);
    expect((await api("POST", "/user/exportlogs", { token: erin, body })).status).toBe(200);
    await jobs.run();
  });
});
