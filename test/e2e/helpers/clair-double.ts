/**
 * A TEST DOUBLE of Clair v4 (Clair itself cannot run on this machine): a loopback HTTP server
 * serving the JSON shapes Clair's OpenAPI document defines for the calls Wharf's connector makes:
 * `POST /indexer/api/v1/index_report`, `GET /indexer/api/v1/index_report/{hash}`,
 * `GET /indexer/api/v1/index_state`, `GET /matcher/api/v1/vulnerability_report/{hash}`,
 * `GET`/`DELETE /notifier/api/v1/notification/{id}`. Like Clair, it checks the PSK JWT (HS256
 * over the base64-decoded key, issuer "quay") and really fetches every layer `uri` it is given,
 * with its headers, recording what it fetched and checking each layer's digest. It finds no
 * packages of its own: a test sets the vulnerability report it wants for a manifest.
 */
import { createHash, randomBytes } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { jwtVerify, SignJWT } from "jose";

export interface FetchedLayer {
  uri: string;
  status: number;
  digest: string | null;
  bytes: number;
  matches: boolean;
}

interface NotificationSet {
  pages: Array<Array<Record<string, unknown>>>;
}

/** A VulnerabilityReport with one package and one vulnerability, in Clair's documented shape. */
export function sampleVulnerabilityReport(manifest: string, severity = "High"): Record<string, unknown> {
  return {
    manifest_hash: manifest,
    packages: { "1": { id: "1", name: "musl", version: "1.2.2-r0", kind: "binary", source: null } },
    distributions: {
      "1": {
        id: "1",
        did: "alpine",
        name: "Alpine Linux",
        version: "3.14",
        version_id: "3.14",
        pretty_name: "Alpine Linux v3.14",
      },
    },
    repository: {},
    environments: { "1": [{ package_db: "lib/apk/db/installed", introduced_in: manifest, distribution_id: "1" }] },
    vulnerabilities: {
      "42": {
        id: "42",
        updater: "alpine-main-v3.14-updater",
        name: "CVE-2021-99999",
        description: "A test vulnerability served by the Clair double.",
        issued: "2021-01-01T00:00:00Z",
        links: "https://example.com/CVE-2021-99999",
        severity,
        normalized_severity: severity,
        package: { id: "", name: "musl", version: "", kind: "binary" },
        distribution: { id: "", did: "alpine", version_id: "3.14" },
        repository: null,
        fixed_in_version: "1.2.2-r1",
      },
    },
    package_vulnerabilities: { "1": ["42"] },
    enrichments: {},
  };
}

export class ClairDouble {
  /** Every layer fetch made, in order. */
  readonly fetched: FetchedLayer[] = [];
  /** Every request: method and path, and whether its JWT verified. */
  readonly requests: { method: string; path: string; authorized: boolean; at: number }[] = [];
  readonly deletedNotifications: string[] = [];
  readonly indexState = randomBytes(16).toString("hex");
  /** Manifests Clair refuses as it refuses content it cannot handle (400). */
  readonly unsupported = new Set<string>();
  /** Polls of GET index_report answered with a non-final state before it says IndexFinished. */
  pollsBeforeFinish = 1;
  private readonly reports = new Map<string, { state: string; err: string; polls: number }>();
  private readonly vulnerabilityReports = new Map<string, Record<string, unknown>>();
  private readonly notifications = new Map<string, NotificationSet>();

  private constructor(
    private readonly server: http.Server,
    readonly url: string,
    /** The PSK, base64 as in Clair's and Quay's configuration. */
    readonly psk: string,
  ) {}

  static async start(psk = randomBytes(32).toString("base64")): Promise<ClairDouble> {
    let self: ClairDouble | undefined;
    const server = http.createServer((req, res) => void self!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    self = new ClairDouble(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`, psk);
    return self;
  }

  /** The report `GET vulnerability_report/{manifest}` answers (an empty one otherwise). */
  setVulnerabilityReport(manifest: string, report: Record<string, unknown>): void {
    this.vulnerabilityReports.set(manifest, report);
  }

  /** A notification set `id`, served in `pages` (each a list of Clair's notification objects). */
  addNotification(id: string, pages: Array<Array<Record<string, unknown>>>): void {
    this.notifications.set(id, { pages });
  }

  /**
   * What Clair's notifier does when a notification is ready: POST `{notification_id, callback}`
   * to `target` (Quay's `/secscan/notification`), signed with the PSK; the response status.
   */
  async deliverWebhook(target: string, id: string): Promise<number> {
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer("clair-notifier")
      .setExpirationTime("5m")
      .sign(new Uint8Array(Buffer.from(this.psk, "base64")));
    const res = await fetch(target, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
      body: JSON.stringify({ notification_id: id, callback: `${this.url}/notifier/api/v1/notification/${id}` }),
    });
    await res.body?.cancel();
    return res.status;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }

  private async authorized(req: http.IncomingMessage): Promise<boolean> {
    const header = req.headers.authorization ?? "";
    if (!header.startsWith("Bearer ")) return false;
    try {
      await jwtVerify(header.slice(7), new Uint8Array(Buffer.from(this.psk, "base64")), {
        issuer: "quay",
        algorithms: ["HS256"],
        requiredClaims: ["exp"],
      });
      return true;
    } catch {
      return false;
    }
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", this.url);
    const authorized = await this.authorized(req);
    this.requests.push({ method: req.method ?? "", path: url.pathname, authorized, at: Date.now() });
    const send = (status: number, json?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { ...(json === undefined ? {} : { "Content-Type": "application/json" }), ...headers });
      res.end(json === undefined ? undefined : JSON.stringify(json));
    };
    if (!authorized) return send(401, { code: "unauthorized", message: "invalid or missing PSK JWT" });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    // Clair's router matches the decoded path (a client may escape the digest's colon or not).
    const p = decodeURIComponent(url.pathname);
    const indexMatch = /^\/indexer\/api\/v1\/index_report\/([^/]+)$/.exec(p);
    const vulnMatch = /^\/matcher\/api\/v1\/vulnerability_report\/([^/]+)$/.exec(p);
    const notificationMatch = /^\/notifier\/api\/v1\/notification\/([^/]+)$/.exec(p);
    if (req.method === "POST" && p === "/indexer/api/v1/index_report") {
      let manifest: { hash?: string; layers?: { hash: string; uri: string; headers?: Record<string, string[]> }[] };
      try {
        manifest = JSON.parse(Buffer.concat(chunks).toString("utf8"));
      } catch {
        return send(400, { code: "bad-request", message: "could not decode manifest" });
      }
      if (!manifest.hash || !/^sha256:[a-f0-9]{64}$/.test(manifest.hash) || !Array.isArray(manifest.layers))
        return send(400, { code: "bad-request", message: "malformed manifest" });
      if (this.unsupported.has(manifest.hash))
        return send(400, { code: "bad-request", message: "manifest media type unsupported" });
      const err = await this.fetchLayers(manifest.layers);
      this.reports.set(manifest.hash, { state: err ? "IndexError" : "IndexFinished", err, polls: 0 });
      const state = err ? "IndexError" : this.pollsBeforeFinish > 0 ? "ScanLayers" : "IndexFinished";
      return send(201, this.indexReport(manifest.hash, state, err), { ETag: `"${this.indexState}"` });
    }
    if (req.method === "GET" && indexMatch) {
      const hash = indexMatch[1]!;
      const report = this.reports.get(hash);
      if (!report) return send(404, { code: "not-found", message: "index report not found" });
      report.polls += 1;
      const state =
        report.state === "IndexFinished" && report.polls < this.pollsBeforeFinish ? "ScanLayers" : report.state;
      return send(200, this.indexReport(hash, state, report.err));
    }
    if (req.method === "GET" && p === "/indexer/api/v1/index_state")
      return send(200, { state: this.indexState }, { ETag: `"${this.indexState}"` });
    if (req.method === "GET" && vulnMatch) {
      const hash = vulnMatch[1]!;
      if (this.reports.get(hash)?.state !== "IndexFinished")
        return send(404, { code: "not-found", message: "index report not found" });
      return send(201, this.vulnerabilityReports.get(hash) ?? this.emptyVulnerabilityReport(hash));
    }
    if (notificationMatch) {
      const id = notificationMatch[1]!;
      const set = this.notifications.get(id);
      if (req.method === "DELETE") {
        this.deletedNotifications.push(id);
        this.notifications.delete(id);
        return send(200);
      }
      if (!set) return send(404, { code: "not-found", message: "notification not found" });
      const index = url.searchParams.has("next") ? Number(url.searchParams.get("next")) : 0;
      const page = set.pages[index] ?? [];
      const next = index + 1 < set.pages.length ? String(index + 1) : "-1";
      return send(200, { page: { size: page.length, next }, notifications: page });
    }
    return send(404, { code: "not-found", message: `no route ${req.method} ${p}` });
  }

  /** Fetches each layer as Clair would; an error message, or "" when all arrived whole. */
  private async fetchLayers(
    layers: { hash: string; uri: string; headers?: Record<string, string[]> }[],
  ): Promise<string> {
    for (const layer of layers) {
      const headers = Object.fromEntries(Object.entries(layer.headers ?? {}).map(([k, v]) => [k, v.join(", ")]));
      try {
        const res = await fetch(layer.uri, { headers });
        const hash = createHash("sha256");
        let bytes = 0;
        if (res.body)
          for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
            hash.update(chunk);
            bytes += chunk.length;
          }
        const digest = res.status === 200 ? `sha256:${hash.digest("hex")}` : null;
        this.fetched.push({ uri: layer.uri, status: res.status, digest, bytes, matches: digest === layer.hash });
        if (res.status !== 200) return `fetching layer ${layer.hash}: ${res.status}`;
        if (digest !== layer.hash) return `layer ${layer.hash}: fetched content has digest ${digest}`;
      } catch (err) {
        this.fetched.push({ uri: layer.uri, status: 0, digest: null, bytes: 0, matches: false });
        return `fetching layer ${layer.hash}: ${(err as Error).message}`;
      }
    }
    return "";
  }

  private indexReport(hash: string, state: string, err: string): Record<string, unknown> {
    return {
      manifest_hash: hash,
      state,
      packages: {},
      distributions: {},
      repository: {},
      environments: {},
      success: state === "IndexFinished",
      err,
    };
  }

  private emptyVulnerabilityReport(hash: string): Record<string, unknown> {
    return {
      manifest_hash: hash,
      packages: {},
      distributions: {},
      repository: {},
      environments: {},
      vulnerabilities: {},
      package_vulnerabilities: {},
      enrichments: {},
    };
  }
}
