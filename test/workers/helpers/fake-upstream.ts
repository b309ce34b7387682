/**
 * A registry on the far side of the outbound guard, for the workerd tests of the upstream client,
 * the proxy cache and mirroring: it answers the Worker's `fetch` (a spy, as test/workers/outbound.
 * test.ts stubs the network) with the Distribution API's pull endpoints, Docker's token service
 * (Bearer) or HTTP Basic, blob redirects to a storage origin, and `Link` pagination of tag lists.
 * It records every request it sees (method, URL, Authorization) so tests can count and inspect.
 */
import { expect, vi } from "vitest";
import { UpstreamError } from "../../../src/upstream/registry";

export interface FakeUpstreamOptions {
  /** The registry's origin (default `https://upstream.example`). */
  origin?: string;
  /** What the registry asks for: Docker's token dance, HTTP Basic, or nothing. */
  auth?: "bearer" | "basic" | "none";
  /** The token service (bearer): default `https://auth.upstream.example/token`. */
  realm?: string;
  service?: string;
  /** Accounts the token service or Basic accept. */
  users?: Record<string, string>;
  /** Whether the token service hands anonymous pull tokens (Docker Hub does). */
  anonymousPull?: boolean;
  /** Blob GETs answer 307 to this origin, which serves the bytes (S3-like, refusing Authorization). */
  blobStorageOrigin?: string | null;
  /** Tags per page: the tag list paginates with `Link` when set. */
  tagPageSize?: number;
  /** The token answer's `expires_in`; omitted from the answer when null. */
  tokenExpiresIn?: number | null;
}

export interface SeenRequest {
  method: string;
  url: string;
  authorization: string | null;
}

const encoder = new TextEncoder();

export async function sha256(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class FakeUpstream {
  readonly origin: string;
  readonly realm: string;
  readonly service: string;
  readonly requests: SeenRequest[] = [];
  readonly blobs = new Map<string, Uint8Array>();
  /** repository → reference (tag or digest) → manifest. */
  readonly manifests = new Map<string, Map<string, { bytes: Uint8Array; mediaType: string; digest: string }>>();
  /** Token → the scope it was issued for. */
  readonly tokens = new Map<string, string>();
  /** Override an answer: return a Response to send it instead of the registry's own. */
  intercept: ((request: SeenRequest) => Response | undefined) | null = null;
  #issued = 0;

  constructor(readonly options: FakeUpstreamOptions = {}) {
    this.origin = options.origin ?? "https://upstream.example";
    this.realm = options.realm ?? "https://auth.upstream.example/token";
    this.service = options.service ?? "upstream.example";
  }

  /** Answers the Worker's fetches from now on (vi.restoreAllMocks undoes it); other origins get 599. */
  install(others: (request: SeenRequest) => Response | undefined = () => undefined): this {
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
      const url = typeof input === "string" ? input : input instanceof URL ? input.href : input.url;
      const headers = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
      const seen = { method: init?.method ?? "GET", url, authorization: headers.get("Authorization") };
      this.requests.push(seen);
      return (
        this.intercept?.(seen) ??
        (await this.answer(seen, headers)) ??
        others(seen) ??
        new Response(null, { status: 599 })
      );
    });
    return this;
  }

  async putBlob(content: string | Uint8Array): Promise<string> {
    const bytes = typeof content === "string" ? encoder.encode(content) : content;
    const digest = await sha256(bytes);
    this.blobs.set(digest, bytes);
    return digest;
  }

  /** Stores a manifest under its digest and, when given, a tag; returns its digest. */
  async putManifest(repository: string, tag: string | null, manifest: unknown, mediaType?: string): Promise<string> {
    const bytes = manifest instanceof Uint8Array ? manifest : encoder.encode(JSON.stringify(manifest));
    const digest = await sha256(bytes);
    const type =
      mediaType ?? ((manifest as { mediaType?: string }).mediaType || "application/vnd.oci.image.manifest.v1+json");
    const refs = this.manifests.get(repository) ?? new Map();
    this.manifests.set(repository, refs);
    refs.set(digest, { bytes, mediaType: type, digest });
    if (tag) refs.set(tag, { bytes, mediaType: type, digest });
    return digest;
  }

  /** An image manifest with a config and one layer, all stored; returns its digest and its blobs. */
  async putImage(repository: string, tag: string, layer = `layer of ${repository}:${tag}`) {
    const config = await this.putBlob(
      JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers" } }),
    );
    const layerDigest = await this.putBlob(layer);
    const manifest = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: config,
        size: this.blobs.get(config)!.length,
      },
      layers: [
        {
          mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
          digest: layerDigest,
          size: this.blobs.get(layerDigest)!.length,
        },
      ],
    };
    const digest = await this.putManifest(repository, tag, manifest);
    return { digest, config, layer: layerDigest, bytes: this.manifests.get(repository)!.get(digest)!.bytes };
  }

  /** Forgets every token issued: the next request with one is answered 401. */
  revokeTokens(): void {
    this.tokens.clear();
  }

  /** The requests to `path` (a path, or a path prefix ending in `*`), by method. */
  count(method: string, path: string): number {
    const prefix = path.endsWith("*") ? path.slice(0, -1) : null;
    return this.requests.filter((r) => {
      if (r.method !== method) return false;
      const url = new URL(r.url);
      const at = url.origin === this.origin ? url.pathname : null;
      return at !== null && (prefix ? at.startsWith(prefix) : at === path);
    }).length;
  }

  private async answer(seen: SeenRequest, headers: Headers): Promise<Response | undefined> {
    const url = new URL(seen.url);
    if (url.origin === new URL(this.realm).origin && url.pathname === new URL(this.realm).pathname)
      return this.tokenAnswer(url, headers);
    const storage = this.options.blobStorageOrigin;
    if (storage && url.origin === storage) {
      // Like S3 with a signed URL: a request that also carries Authorization is refused.
      if (seen.authorization) return new Response("two authorizations", { status: 400 });
      const bytes = this.blobs.get(url.pathname.slice(1));
      return bytes
        ? new Response(bytes, { headers: { "Content-Length": String(bytes.length) } })
        : new Response(null, { status: 404 });
    }
    if (url.origin !== this.origin) return undefined;
    const refusal = this.authorize(seen.authorization);
    if (refusal) return refusal;
    if (url.pathname === "/v2/") return Response.json({});
    const match = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.+)$/.exec(url.pathname);
    if (!match) return new Response(null, { status: 404 });
    const [, repository, kind, rest] = match as unknown as [string, string, string, string];
    const head = seen.method === "HEAD";
    if (kind === "manifests") {
      const manifest = this.manifests.get(repository)?.get(rest);
      if (!manifest) return Response.json({ errors: [{ code: "MANIFEST_UNKNOWN" }] }, { status: 404 });
      return new Response(head ? null : manifest.bytes, {
        headers: {
          "Content-Type": manifest.mediaType,
          "Content-Length": String(manifest.bytes.length),
          "Docker-Content-Digest": manifest.digest,
        },
      });
    }
    if (kind === "blobs") {
      const bytes = this.blobs.get(rest);
      if (!bytes) return Response.json({ errors: [{ code: "BLOB_UNKNOWN" }] }, { status: 404 });
      if (storage) return new Response(null, { status: 307, headers: { Location: `${storage}/${rest}?signature=x` } });
      return new Response(head ? null : bytes, { headers: { "Content-Length": String(bytes.length) } });
    }
    if (rest !== "list") return new Response(null, { status: 404 });
    const refs = this.manifests.get(repository);
    if (!refs) return Response.json({ errors: [{ code: "NAME_UNKNOWN" }] }, { status: 404 });
    const tags = [...refs.keys()].filter((k) => !k.startsWith("sha256:")).sort();
    const size = this.options.tagPageSize;
    if (!size) return Response.json({ name: repository, tags });
    const last = url.searchParams.get("last");
    const from = last ? tags.findIndex((t) => t > last) : 0;
    const page = from < 0 ? [] : tags.slice(from, from + size);
    const more = from >= 0 && from + size < tags.length;
    const link = more ? { Link: `</v2/${repository}/tags/list?n=${size}&last=${page.at(-1)}>; rel="next"` } : undefined;
    return Response.json({ name: repository, tags: page }, { headers: link });
  }

  private authorize(authorization: string | null): Response | undefined {
    const auth = this.options.auth ?? "bearer";
    if (auth === "none") return undefined;
    if (auth === "basic") {
      if (authorization?.startsWith("Basic ") && this.knows(authorization.slice(6))) return undefined;
      return new Response(null, { status: 401, headers: { "WWW-Authenticate": 'Basic realm="fake"' } });
    }
    if (authorization?.startsWith("Bearer ") && this.tokens.has(authorization.slice(7))) return undefined;
    return Response.json(
      { errors: [{ code: "UNAUTHORIZED" }] },
      { status: 401, headers: { "WWW-Authenticate": `Bearer realm="${this.realm}",service="${this.service}"` } },
    );
  }

  private knows(basic: string): boolean {
    const [user, ...rest] = atob(basic).split(":");
    return this.options.users?.[user!] === rest.join(":");
  }

  private tokenAnswer(url: URL, headers: Headers): Response {
    const authorization = headers.get("Authorization");
    if (
      authorization
        ? !(authorization.startsWith("Basic ") && this.knows(authorization.slice(6)))
        : !this.options.anonymousPull
    )
      return Response.json({ details: "incorrect username or password" }, { status: 401 });
    const token = `token-${++this.#issued}`;
    this.tokens.set(token, url.searchParams.get("scope") ?? "");
    const expiresIn = this.options.tokenExpiresIn === undefined ? 300 : this.options.tokenExpiresIn;
    return Response.json(expiresIn === null ? { token } : { token, access_token: token, expires_in: expiresIn });
  }
}

/** The UpstreamError `promise` rejects with (the test fails if it resolves or rejects otherwise). */
export async function upstreamFailure(promise: Promise<unknown>): Promise<UpstreamError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UpstreamError);
  return err as UpstreamError;
}
