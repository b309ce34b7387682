/**
 * Log-export helpers: the `export_logs` jobs the API queues are recorded instead of queued (so no
 * consumer runs on its own) and handed to the Worker's queue handler by {@link ExportJobs.run}, a
 * step at a time until delivered, as the queue would; the callback receiver is a `fetch` stub.
 */
import { env } from "cloudflare:workers";
import { expect, vi } from "vitest";
import type { RegistryJob } from "../../../src/queues/jobs";
import { consume } from "./action-logs";
import { makeUser, tokenFor } from "./accounts";
import { createPrivateRepository, fixtureCall, initializeAdmin } from "./api";

type ExportJob = Extract<RegistryJob, { type: "export_logs" | "mail" | "log_sink" }>;

export interface ExportJobs {
  readonly jobs: ExportJob[];
  /**
   * Runs the recorded jobs (the mails they queue too) with `targetEnv`, and the jobs they queue,
   * until none is left; returns the steps run.
   */
  run(targetEnv?: Env): Promise<ExportJob[]>;
}

const QUEUED = { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };

/** Records the jobs of `types` (by default an export's and the mails it sends). */
export function recordExportJobs(types: readonly ExportJob["type"][] = ["export_logs", "mail"]): ExportJobs {
  const jobs: ExportJob[] = [];
  const send = env.EVENTS.send.bind(env.EVENTS);
  vi.spyOn(env.EVENTS, "send").mockImplementation(async (body, options) => {
    const type = (body as { type?: unknown }).type;
    if (types.includes(type as ExportJob["type"])) {
      jobs.push(body as ExportJob);
      return QUEUED;
    }
    return send(body, options);
  });
  return {
    jobs,
    async run(targetEnv = env) {
      const ran: ExportJob[] = [];
      for (let i = 0; jobs.length > 0; i++) {
        expect(i, "export steps").toBeLessThan(50);
        const job = jobs.shift()!;
        ran.push(job);
        await consume([job], targetEnv);
      }
      return ran;
    },
  };
}

/** The callback receiver's origin in the export tests ({@link receiveAt}). */
export const HOOK = "https://hooks.example.com";

/** The export tests' accounts: the users erin and fred (their tokens), erin's organization erinco with its private repository app. */
export async function makeExportAccounts(): Promise<{ erin: string; fred: string }> {
  const admin = await initializeAdmin();
  await makeUser(admin, "erin");
  await makeUser(admin, "fred");
  const erin = await tokenFor("erin");
  const fred = await tokenFor("fred");
  await fixtureCall(erin, "POST", "/organization/", { name: "erinco", email: "erinco@example.com" });
  await createPrivateRepository(erin, "erinco", "app");
  return { erin, fred };
}

export interface Received {
  url: string;
  headers: Headers;
  /** The body as JSON, when it is one document. */
  body: any;
  text: string;
}

/** Answers requests to `origin` with `status`, recording them; every other request goes through. */
export function receiveAt(origin: string, status = 200): Received[] {
  const received: Received[] = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(origin)) return real(input, init);
    const text = init?.body ? await new Response(init.body).text() : "";
    let body: unknown = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch {}
    received.push({ url, headers: new Headers(init?.headers), body, text });
    return new Response("ok", { status });
  });
  return received;
}
