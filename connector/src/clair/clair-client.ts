/**
 * A client of Clair v4's HTTP API (its OpenAPI document: indexer, matcher, notifier), the calls
 * Quay's secscan model makes: index a manifest, read its index report and the indexer's state,
 * read the vulnerability report, page through and delete a notification.
 */
import { z } from "zod";
import { networkReason } from "../log";
import { clairAuthorization } from "./psk-jwt";

/** Clair could not be reached or answered 5xx: the job may succeed later. */
export class ClairUnavailable extends Error {}

/** Clair refused the request (4xx): it cannot handle this manifest as sent. */
export class ClairRejected extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const indexReport = z
  .object({ manifest_hash: z.string(), state: z.string(), err: z.string().optional() })
  .passthrough();
export type IndexReport = z.infer<typeof indexReport>;

const notificationPage = z.object({
  page: z.object({ size: z.number().optional(), next: z.string().nullish() }).passthrough(),
  notifications: z.array(
    z
      .object({
        id: z.string().optional(),
        manifest: z.string(),
        reason: z.string(),
        vulnerability: z.record(z.string(), z.unknown()),
      })
      .passthrough(),
  ),
});
export type NotificationPage = z.infer<typeof notificationPage>;

export interface ClairLayer {
  hash: string;
  uri: string;
  headers: Record<string, string[]>;
}

export class ClairClient {
  private readonly base: URL;

  constructor(
    base: string,
    private readonly psk: string | null,
    private readonly timeoutMs = 120_000,
  ) {
    this.base = new URL(base.endsWith("/") ? base : `${base}/`);
  }

  /** POST /indexer/api/v1/index_report: starts (or finds) the manifest's index. */
  async index(manifest: { hash: string; layers: ClairLayer[] }, signal?: AbortSignal): Promise<IndexReport> {
    const res = await this.call("POST", "indexer/api/v1/index_report", manifest, signal);
    return indexReport.parse(await res!.json());
  }

  /** GET /indexer/api/v1/index_report/{hash}; null when Clair has none. */
  async indexReport(hash: string, signal?: AbortSignal): Promise<IndexReport | null> {
    const res = await this.call("GET", `indexer/api/v1/index_report/${digestPath(hash)}`, undefined, signal, true);
    return res ? indexReport.parse(await res.json()) : null;
  }

  /** GET /indexer/api/v1/index_state: the opaque token that changes when manifests must be re-indexed. */
  async indexState(signal?: AbortSignal): Promise<string> {
    const res = await this.call("GET", "indexer/api/v1/index_state", undefined, signal);
    return z.object({ state: z.string() }).parse(await res!.json()).state;
  }

  /** GET /matcher/api/v1/vulnerability_report/{hash}: Clair's VulnerabilityReport, as Clair sent it. */
  async vulnerabilityReport(hash: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
    const res = await this.call("GET", `matcher/api/v1/vulnerability_report/${digestPath(hash)}`, undefined, signal);
    return z.record(z.string(), z.unknown()).parse(await res!.json());
  }

  /** GET /notifier/api/v1/notification/{id}[?next=…]; null when Clair has no such notification. */
  async notificationPage(id: string, next: string | null, signal?: AbortSignal): Promise<NotificationPage | null> {
    const query = next ? `?next=${encodeURIComponent(next)}` : "";
    const res = await this.call(
      "GET",
      `notifier/api/v1/notification/${encodeURIComponent(id)}${query}`,
      undefined,
      signal,
      true,
    );
    return res ? notificationPage.parse(await res.json()) : null;
  }

  /** DELETE /notifier/api/v1/notification/{id}: Clair forgets it (a missing one is fine). */
  async deleteNotification(id: string, signal?: AbortSignal): Promise<void> {
    await this.call("DELETE", `notifier/api/v1/notification/${encodeURIComponent(id)}`, undefined, signal, true);
  }

  private async call(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
    missingIsNull = false,
  ): Promise<Response | null> {
    const url = new URL(path, this.base);
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (this.psk) headers.Authorization = await clairAuthorization(this.psk);
    const signals = [AbortSignal.timeout(this.timeoutMs), ...(signal ? [signal] : [])];
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any(signals),
      });
    } catch (err) {
      throw new ClairUnavailable(`Clair (${method} ${url.pathname}): ${networkReason(err)}`, { cause: err });
    }
    if (res.status === 404 && missingIsNull) {
      await res.body?.cancel();
      return null;
    }
    if (res.status >= 200 && res.status < 300) return res;
    const text = (await res.text().catch(() => "")).slice(0, 500);
    let message = text;
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? text;
    } catch {
      // not JSON
    }
    const what = `Clair answered ${method} ${url.pathname} with ${res.status}${message ? `: ${message}` : ""}`;
    if (res.status >= 500 || res.status === 429) throw new ClairUnavailable(what);
    throw new ClairRejected(res.status, what);
  }
}

/** A digest in a path as Quay sends it (`sha256:…`, the colon unescaped); anything else is refused. */
function digestPath(hash: string): string {
  if (!/^sha(256|512):[a-f0-9]+$/.test(hash)) throw new ClairRejected(400, `${hash} is not a digest`);
  return hash;
}
