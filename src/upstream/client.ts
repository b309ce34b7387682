/**
 * The {@link UpstreamRegistry} that speaks to another registry: the Distribution API's pull and
 * content-discovery endpoints (OCI distribution-spec v1.1) with Docker's token authentication.
 * Every request goes through the outbound guard (src/lib/outbound.ts); nothing here logs, and no
 * error message carries a credential or a token.
 *
 * Authentication follows the challenge: a request goes out with what the registry last asked for
 * (remembered per registry in the isolate), and a 401 is answered once, with a fresh token (or
 * Basic credentials) for the challenge it carries, and the request retried; a second 401 is
 * `unauthorized`.
 */
import { hex } from "../lib/encoding";
import { sha256Digest } from "../lib/digest";
import { contentLength } from "../lib/http";
import { guardedFetch, type OutboundInit, readCapped } from "../lib/outbound";
import { SizedLru } from "../lib/sized-lru";
import { bareMediaType, MANIFEST_MEDIA_TYPES } from "../registry/media-types";
import { DIGEST_PATTERN, isSha256Digest, NAME_MAX_LENGTH, NAME_PATTERN, TAG_PATTERN } from "../registry/reference";
import { type Challenge, parseChallenge } from "./challenge";
import { asUpstreamError, statusFailure } from "./failures";
import type { UpstreamBlob, UpstreamConfig, UpstreamManifest, UpstreamRegistry } from "./registry";
import { UpstreamError } from "./registry";
import { basicAuthorization, bearerToken, clearUpstreamTokens } from "./tokens";
import { MAX_TAGS, nextPage, tagsPage } from "./tag-pages";

/** How users name Docker Hub (and `docker pull` does): not where its API lives. */
export const DOCKER_HUB_NAMES: readonly string[] = ["docker.io", "index.docker.io", "registry-1.docker.io"];
/** Docker Hub's Distribution API host. */
export const DOCKER_HUB_API_HOST = "registry-1.docker.io";
/** Docker Hub's official images live under `library/`: `alpine` is `library/alpine`. */
export const DOCKER_HUB_OFFICIAL_NAMESPACE = "library";
/** distribution-spec "Pushing Manifests": registries SHOULD accept manifests of at least 4 MiB; we read no more. */
export const UPSTREAM_MANIFEST_MAX_BYTES = 4 * 1024 * 1024;
/** Ping, manifests and tag pages: small answers. */
export const UPSTREAM_TIMEOUT_MS = 30_000;
/** A blob may stream for an hour; what must not last is the wait for its headers, or a silence. */
export const UPSTREAM_BLOB_TIMEOUTS = { headersMs: 30_000, idleMs: 60_000 } as const;

/** What each registry last challenged with, by its base URL (a few hundred bytes each). */
const challenges = new SizedLru<string, Challenge>(256 * 1024, 4 * 1024);

/** The upstream at `config`, reached with `env`'s outbound allowance (ALLOW_PRIVATE_OUTBOUND). */
export function upstreamRegistry(env: { ALLOW_PRIVATE_OUTBOUND?: unknown }, config: UpstreamConfig): UpstreamRegistry {
  let base: string;
  try {
    base = registryBase(config);
  } catch (err) {
    // A configuration that names no host fails each call, as any other upstream failure does.
    const fail = () => Promise.reject(err);
    return { ping: fail, headManifest: fail, getManifest: fail, getBlob: fail, listTags: fail };
  }
  const exchange = (path: string, scope: string | undefined, init: OutboundInit = {}) =>
    authorizedExchange(env, config, base, path, scope, init);
  const accepting = (accept: string | undefined) => ({ Accept: accept ?? MANIFEST_MEDIA_TYPES.join(", ") });

  return {
    async ping() {
      const res = await exchange("/v2/", undefined);
      await res.body?.cancel();
      if (res.status !== 200) throw statusFailure(res.status, `${base} /v2/`);
      return config.credentials ? "valid" : "anonymous";
    },

    async headManifest(repository, reference, accept) {
      const name = upstreamName(config, repository);
      const ref = manifestReference(reference);
      const res = await exchange(`/v2/${name}/manifests/${ref}`, pullScope(name), {
        method: "HEAD",
        headers: accepting(accept),
      });
      await res.body?.cancel();
      if (res.status === 404) return null;
      if (res.status !== 200) throw statusFailure(res.status, `${base} manifest ${name}:${ref}`);
      const sent = res.headers.get("Docker-Content-Digest") ?? (isSha256Digest(ref) ? ref : null);
      if (!sent || !isSha256Digest(sent) || (isSha256Digest(ref) && sent !== ref))
        throw new UpstreamError("protocol", `${base} gave no usable Docker-Content-Digest for ${name}:${ref}`);
      const size = contentLength(res.headers.get("Content-Length"));
      if (size === null || Number.isNaN(size))
        throw new UpstreamError("protocol", `${base} gave no Content-Length for ${name}:${ref}`);
      return { digest: sent, mediaType: bareMediaType(res.headers.get("Content-Type")), size };
    },

    async getManifest(repository, reference, accept) {
      const name = upstreamName(config, repository);
      const ref = manifestReference(reference);
      const what = `${base} manifest ${name}:${ref}`;
      const res = await exchange(`/v2/${name}/manifests/${ref}`, pullScope(name), { headers: accepting(accept) });
      if (res.status === 404) return cancelled(res, null);
      if (res.status !== 200) return cancelled(res, Promise.reject(statusFailure(res.status, what)));
      const bytes = await readCapped(res, UPSTREAM_MANIFEST_MAX_BYTES).catch((err: unknown) =>
        Promise.reject(asUpstreamError(err, what)),
      );
      const digest = sha256Digest(hex(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))));
      const sent = res.headers.get("Docker-Content-Digest");
      // Only a sha256 header can be compared; the content address Wharf stores is the bytes' own.
      if ((sent?.startsWith("sha256:") && sent !== digest) || (isSha256Digest(ref) && ref !== digest))
        throw new UpstreamError("protocol", `${what}: the bytes do not match the digest (${digest})`);
      // The manifest's own `mediaType` first: registries serve some with a generic Content-Type.
      const mediaType = declaredMediaType(bytes) || bareMediaType(res.headers.get("Content-Type"));
      return { digest, mediaType, size: bytes.byteLength, bytes } satisfies UpstreamManifest & { bytes: Uint8Array };
    },

    async getBlob(repository, digest): Promise<UpstreamBlob | null> {
      const name = upstreamName(config, repository);
      if (!isSha256Digest(digest)) throw new UpstreamError("refused", "not a sha256 digest");
      const what = `${base} blob ${name}@${digest}`;
      // Registries answer with a redirect to their storage (S3, a CDN): followed, without our credentials.
      const res = await exchange(`/v2/${name}/blobs/${digest}`, pullScope(name), {
        crossOriginRedirects: true,
        streamTimeouts: UPSTREAM_BLOB_TIMEOUTS,
      });
      if (res.status === 404) return cancelled(res, null);
      if (res.status !== 200) return cancelled(res, Promise.reject(statusFailure(res.status, what)));
      const size = contentLength(res.headers.get("Content-Length"));
      if (size === null || Number.isNaN(size))
        return cancelled(res, Promise.reject(new UpstreamError("protocol", `${what}: no Content-Length`)));
      return { size, body: res.body ?? emptyStream() };
    },

    async listTags(repository) {
      const name = upstreamName(config, repository);
      const tags: string[] = [];
      let path = `/v2/${name}/tags/list`;
      for (let page = 0; ; page++) {
        const what = `${base} tags of ${name}`;
        const res = await exchange(path, pullScope(name));
        if (res.status === 404 && page === 0) return cancelled(res, null);
        if (res.status !== 200) return cancelled(res, Promise.reject(statusFailure(res.status, what)));
        for (const tag of await tagsPage(res, what)) {
          if (tags.length === MAX_TAGS) throw new UpstreamError("too-large", `${what}: more than ${MAX_TAGS} tags`);
          tags.push(tag);
        }
        const next = nextPage(res.headers.get("Link"), new URL(path, base), page, what);
        if (!next) return tags;
        path = next;
      }
    },
  };
}

/** `https://host` (or `http://` when insecure), Docker Hub's names meaning its API host. */
export function registryBase(config: UpstreamConfig): string {
  const host = DOCKER_HUB_NAMES.includes(config.host.toLowerCase()) ? DOCKER_HUB_API_HOST : config.host;
  const scheme = config.insecure ? "http" : "https";
  const base = `${scheme}://${host}`;
  // Only a host and port: nothing the URL parser would read as a path, user or query.
  const written = host.toLowerCase().replace(scheme === "https" ? /:443$/ : /:80$/, "");
  if (!URL.canParse(base) || new URL(base).host !== written || /[/?#@\\]/.test(host))
    throw new UpstreamError("refused", "the upstream host is not a host[:port]");
  return new URL(base).origin;
}

/** The repository's name at the upstream: Docker Hub's one-segment names are its official images. */
export function upstreamName(config: UpstreamConfig, repository: string): string {
  if (repository.length > NAME_MAX_LENGTH || !NAME_PATTERN.test(repository))
    throw new UpstreamError("refused", "not a repository name");
  const hub = DOCKER_HUB_NAMES.includes(config.host.toLowerCase());
  return hub && !repository.includes("/") ? `${DOCKER_HUB_OFFICIAL_NAMESPACE}/${repository}` : repository;
}

function manifestReference(reference: string): string {
  if (TAG_PATTERN.test(reference) || (DIGEST_PATTERN.test(reference) && isSha256Digest(reference))) return reference;
  throw new UpstreamError("refused", "not a tag or sha256 digest");
}

/** Docker's token scope for pulling a repository (token authentication specification, "scope"). */
const pullScope = (name: string) => `repository:${name}:pull`;

/**
 * One request with the authorization the registry asks for, retried once after a 401 with what
 * that 401's challenge asks for, fetched fresh.
 */
async function authorizedExchange(
  env: { ALLOW_PRIVATE_OUTBOUND?: unknown },
  config: UpstreamConfig,
  base: string,
  path: string,
  scope: string | undefined,
  init: OutboundInit,
): Promise<Response> {
  // Every request is the registry's: a path the upstream wrote (a tag page's `Link`) that starts
  // with `//` would otherwise name another host, and take the Authorization there.
  const target = new URL(path, base);
  if (target.origin !== base) throw new UpstreamError("protocol", `${base}: ${path} leads to another origin`);
  let answeredBy = base;
  const send = async (authorization: string | null) => {
    const headers = new Headers(init.headers);
    if (authorization) headers.set("Authorization", authorization);
    const answered = (url: URL) => {
      answeredBy = url.origin;
    };
    return guardedFetch(env, target, {
      timeoutMs: UPSTREAM_TIMEOUT_MS,
      ...init,
      headers,
      answeredBy: answered,
    }).catch((err: unknown) => Promise.reject(asUpstreamError(err, base)));
  };
  const known = challenges.get(base);
  const first = await send(known ? await authorization(env, config, known, scope, false) : null);
  if (first.status !== 401) return first;
  await first.body?.cancel();
  // Only the registry's own 401 is its challenge: one from where it redirected a blob (its
  // storage) would get the credentials sent to a realm of that origin's choosing, and be
  // remembered as the registry's for every later request.
  if (answeredBy !== base)
    throw new UpstreamError("unauthorized", `${base}: ${answeredBy}, redirected to, answered 401`);
  const challenge = parseChallenge(first.headers.get("WWW-Authenticate"));
  if (!challenge) throw new UpstreamError("unauthorized", `${base} answered 401 without a usable challenge`);
  challenges.set(base, challenge, base.length + JSON.stringify(challenge).length);
  const second = await send(await authorization(env, config, challenge, scope, true));
  if (second.status !== 401) return second;
  await second.body?.cancel();
  throw new UpstreamError(
    "unauthorized",
    `${base} refused the ${challenge.scheme === "basic" ? "credentials" : "token"}`,
  );
}

async function authorization(
  env: { ALLOW_PRIVATE_OUTBOUND?: unknown },
  config: UpstreamConfig,
  challenge: Challenge,
  scope: string | undefined,
  fresh: boolean,
): Promise<string> {
  if (challenge.scheme === "bearer") return `Bearer ${await bearerToken(env, config, challenge, scope, { fresh })}`;
  if (!config.credentials) throw new UpstreamError("unauthorized", "the upstream asks for credentials (Basic)");
  // Basic sends the password with every request: over http only where `insecure` allowed plain http.
  return basicAuthorization(config.credentials);
}

/** The `mediaType` a manifest declares in its JSON (image-spec), when the answer's Content-Type named none. */
function declaredMediaType(bytes: Uint8Array): string {
  try {
    const parsed = JSON.parse(new TextDecoder().decode(bytes)) as { mediaType?: unknown };
    return typeof parsed.mediaType === "string" ? parsed.mediaType : "";
  } catch {
    return "";
  }
}

/** `value` once `res`'s body is let go. */
async function cancelled<T>(res: Response, value: T | Promise<T>): Promise<T> {
  await res.body?.cancel().catch(() => {});
  return value;
}

function emptyStream(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}

/** Forgets every challenge and token the isolate holds (tests start from nothing). */
export function clearUpstreamCaches(): void {
  for (const key of [...challenges.keys()]) challenges.delete(key);
  clearUpstreamTokens();
}
