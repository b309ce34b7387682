/**
 * The dev mailer's folder as the tests see it: vitest.workers.config.mts binds DEV_MAILBOX to a
 * temporary folder (a writable workerd disk service) and MAIL_TRANSPORT to `dev`, so a mail the
 * consumer sends becomes an `.eml` there, read back through the same binding.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { vi } from "vitest";
import { createApp } from "../../../src/app";
import type { MailJob } from "../../../src/mail/mailer";
import worker from "../../../src/index";
import { answerOf } from "./api";
import { BASE } from "./registry";

export interface ReadMail {
  file: string;
  headers: Record<string, string>;
  /** The text part (the whole body when there is no HTML part). */
  text: string;
  raw: string;
}

function mailbox(): Fetcher {
  if (!env.DEV_MAILBOX) throw new Error("DEV_MAILBOX is not bound (vitest.workers.config.mts)");
  return env.DEV_MAILBOX;
}

/** Every .eml in the folder, oldest first (their names sort by time). */
export async function mailFiles(): Promise<string[]> {
  const res = await mailbox().fetch("http://mailbox/");
  const entries = (await res.json()) as { name: string; type: string }[];
  return entries
    .filter((e) => e.type === "file" && e.name.endsWith(".eml"))
    .map((e) => e.name)
    .sort();
}

export function parseEml(raw: string, file = ""): ReadMail {
  const [head = "", ...rest] = raw.split("\r\n\r\n");
  const headers: Record<string, string> = {};
  for (const line of head.split("\r\n")) {
    const at = line.indexOf(":");
    if (at > 0) headers[line.slice(0, at).toLowerCase()] = line.slice(at + 1).trim();
  }
  let body = rest.join("\r\n\r\n");
  const boundary = /boundary="([^"]+)"/.exec(headers["content-type"] ?? "")?.[1];
  if (boundary) {
    const part = body.split(`--${boundary}`).find((p) => p.includes("Content-Type: text/plain")) ?? "";
    body = part.split("\r\n\r\n").slice(1).join("\r\n\r\n").replace(/\r\n$/, "");
  }
  return { file, headers, text: body.replace(/\r\n/g, "\n").replace(/\n$/, ""), raw };
}

export async function readMail(file: string): Promise<ReadMail> {
  const res = await mailbox().fetch(`http://mailbox/${file}`);
  return parseEml(await res.text(), file);
}

/** The mails written since `before` (a list of mailFiles()), for a test that shares the folder. */
export async function mailsSince(before: string[]): Promise<ReadMail[]> {
  const known = new Set(before);
  const files = (await mailFiles()).filter((f) => !known.has(f));
  return Promise.all(files.map(readMail));
}

/**
 * Records the mail jobs queued from now on instead of queueing them (so no consumer runs on its
 * own); `deliver` then hands them to the Worker's queue handler, as the queue would.
 */
export function recordMailJobs(): { jobs: MailJob[]; deliver(targetEnv?: Env): Promise<void> } {
  const jobs: MailJob[] = [];
  const send = env.EVENTS.send.bind(env.EVENTS);
  vi.spyOn(env.EVENTS, "send").mockImplementation(async (body, options) => {
    if ((body as { type?: unknown }).type === "mail") {
      jobs.push(body as MailJob);
      return { metadata: { metrics: { backlogCount: 0, backlogBytes: 0, oldestMessageTimestamp: undefined } } };
    }
    return send(body, options);
  });
  return {
    jobs,
    async deliver(targetEnv = env) {
      const pending = jobs.splice(0);
      if (pending.length === 0) return;
      const batch = createMessageBatch(
        "wharf-events",
        pending.map((body, i) => ({ id: `mail-${i}`, timestamp: new Date(), attempts: 1, body })),
      );
      const ctx = createExecutionContext();
      await worker.queue(batch, targetEnv, ctx);
      const result = await getQueueResult(batch, ctx);
      if (result.retryMessages.length > 0) throw new Error("a mail job was retried");
    },
  };
}

/** The Worker's environment with FEATURE_MAILING on (MAIL_TRANSPORT is `dev` in every test). */
export const mailingEnv = (vars: Record<string, string> = {}) =>
  ({ ...env, FEATURE_MAILING: "true", ...vars }) as unknown as Env;

/** A request through the whole app with `targetEnv`, JSON in and out, redirects not followed. */
export async function requestWith(
  targetEnv: Env,
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const waiting: Promise<unknown>[] = [];
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void waiting.push(p),
    passThroughOnException() {},
    props: {},
  } as unknown as ExecutionContext;
  const res = await createApp().fetch(
    new Request(`${BASE}${path}`, { method, headers, body, redirect: "manual" }),
    targetEnv,
    ctx,
  );
  await Promise.allSettled(waiting);
  return answerOf(res);
}

/** An /api/v1 call with FEATURE_MAILING on. */
export const mailingApi = (method: string, path: string, options: Parameters<typeof requestWith>[3] = {}) =>
  requestWith(mailingEnv(), method, `/api/v1${path}`, options);
