import { createExecutionContext, createMessageBatch, getQueueResult } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readConfig } from "../../../src/config";
import { queueMail } from "../../../src/mail/mailer";
import { toEml } from "../../../src/mail/mime";
import worker from "../../../src/index";
import { mailFiles, mailsSince, parseEml, recordMailJobs } from "../helpers/mailbox";

afterEach(() => {
  vi.restoreAllMocks();
});

const message = { to: "olga@example.com", subject: "[Wharf] Invitation to join team", text: "Code: s3cret-code\n" };

async function consume(targetEnv: Env, bodies: unknown[]) {
  const batch = createMessageBatch(
    "wharf-events",
    bodies.map((body, i) => ({ id: `m-${i}`, timestamp: new Date(), attempts: 1, body })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, targetEnv, ctx);
  return getQueueResult(batch, ctx);
}

describe("the mailer", () => {
  it("queues a mail job, and the consumer writes it as an .eml into the dev mailbox", async () => {
    const before = await mailFiles();
    const mails = recordMailJobs();
    await queueMail(env, message);
    expect(mails.jobs).toEqual([{ type: "mail", message }]);
    await mails.deliver();
    const [mail, ...others] = await mailsSince(before);
    expect(others).toEqual([]);
    expect(mail?.file).toMatch(/^\d{8}T\d{9}Z-[0-9a-f-]{36}\.eml$/);
    expect(mail?.headers.from).toBe("wharf@localhost");
    expect(mail?.headers.to).toBe("olga@example.com");
    expect(mail?.headers.subject).toBe("[Wharf] Invitation to join team");
    expect(mail?.headers["message-id"]).toMatch(/^<[0-9a-f-]{36}@localhost>$/);
    expect(mail?.text).toBe("Code: s3cret-code");
  });

  it("sends from MAIL_FROM through Cloudflare's send_email binding with MAIL_TRANSPORT=cloudflare", async () => {
    const sent: unknown[] = [];
    const MAIL = { send: async (m: unknown) => void sent.push(m) } as unknown as SendEmail;
    const target = { ...env, MAIL_TRANSPORT: "cloudflare", MAIL_FROM: "registry@example.org", MAIL } as unknown as Env;
    const result = await consume(target, [{ type: "mail", message: { ...message, html: "<p>Code</p>" } }]);
    expect(result.explicitAcks).toEqual(["m-0"]);
    expect(sent).toEqual([{ from: "registry@example.org", ...message, html: "<p>Code</p>" }]);
  });

  it("retries a mail the transport fails to send, and never logs its text", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    const log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    const MAIL = {
      send: async () => {
        throw new Error("550 refused");
      },
    } as unknown as SendEmail;
    const failing = { ...env, MAIL_TRANSPORT: "cloudflare", MAIL } as unknown as Env;
    const unbound = { ...env, MAIL_TRANSPORT: "cloudflare" } as unknown as Env;
    for (const target of [failing, unbound]) {
      const result = await consume(target, [{ type: "mail", message }]);
      expect(result.retryMessages.map((m) => m.msgId)).toEqual(["m-0"]);
      expect(result.explicitAcks).toEqual([]);
    }
    const lines = [...error.mock.calls, ...log.mock.calls].map(([line]) => String(line));
    expect(lines.some((line) => line.includes("mail not sent"))).toBe(true);
    expect(lines.join("\n")).not.toContain("s3cret-code");
    expect(lines.join("\n")).not.toContain("olga@");
  });

  it("refuses a message that could inject headers, before queueing it", async () => {
    const mails = recordMailJobs();
    await expect(queueMail(env, { ...message, subject: "Hi\r\nBcc: eve@example.com" })).rejects.toMatchObject({
      kind: "invalid",
    });
    await expect(queueMail(env, { ...message, to: "olga@example.com\r\nBcc: eve@example.com" })).rejects.toThrow();
    expect(mails.jobs).toEqual([]);
  });

  it("drops a malformed mail job instead of retrying it", async () => {
    vi.spyOn(console, "error").mockImplementation(() => undefined);
    const result = await consume(env, [{ type: "mail", message: { to: "nobody", subject: "x", text: "" } }]);
    expect(result.explicitAcks).toEqual(["m-0"]);
    expect(result.retryMessages).toEqual([]);
  });
});

describe("the .eml", () => {
  const envelope = {
    from: "wharf@localhost",
    date: new Date(Date.UTC(2026, 11, 6, 19, 4)),
    messageId: "id-1@localhost",
  };

  it("encodes a subject beyond ASCII as an RFC 2047 word and uses CRLF line ends", () => {
    const raw = toEml({ ...message, subject: "Équipe", text: "a\nb" }, envelope);
    expect(raw).toContain("Subject: =?UTF-8?B?w4lxdWlwZQ==?=\r\n");
    expect(raw).toContain("Date: Sun, 06 Dec 2026 19:04:00 +0000\r\n");
    expect(parseEml(raw).text).toBe("a\nb");
    expect(raw).not.toMatch(/[^\r]\n/);
  });

  it("carries HTML as a multipart/alternative beside the text", () => {
    const raw = toEml({ ...message, html: "<p>Code</p>" }, envelope);
    expect(raw).toContain('Content-Type: multipart/alternative; boundary="wharf-id1localhost"');
    expect(raw).toContain(
      "Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n<p>Code</p>",
    );
    expect(parseEml(raw).text).toBe("Code: s3cret-code");
  });
});

describe("mail configuration", () => {
  it("refuses FEATURE_MAILING without a transport, and takes it with one", () => {
    expect(() => readConfig({ FEATURE_MAILING: "true", MAIL_TRANSPORT: "none" })).toThrow(/MAIL_TRANSPORT/);
    expect(() => readConfig({ FEATURE_MAILING: "true" })).toThrow(/MAIL_TRANSPORT/);
    expect(readConfig({ FEATURE_MAILING: "true", MAIL_TRANSPORT: "dev" }).FEATURE_MAILING).toBe(true);
    expect(() => readConfig({ MAIL_TRANSPORT: "smtp" })).toThrow();
    expect(() => readConfig({ MAIL_FROM: "not an address" })).toThrow();
    expect(readConfig({}).MAIL_FROM).toBe("wharf@localhost");
  });
});
