/**
 * Cached pull facts (issue #20: no D1 round trip for a pull by digest on a warm edge). D1 has one
 * primary region, so each D1 read on the pull path is a round trip across the world for most
 * clients. A pull by digest needs two facts from D1, both about immutable content:
 * - F1 `link`: repository `name` links blob `digest`, stored `size` bytes at `storageKey`.
 * - F2 `manifest`: repository `name` holds live manifest `digest` (its row: type, size, id).
 * F3, the manifest's bytes under its digest, is the isolate's ContentCache (src/registry/manifests.ts)
 * and, with T2, the Cache API: content-addressed bytes are never stale, and F2 is asked first, so
 * they are served only where F2 (or D1) says the repository holds them. Tags move and are never cached here; negatives
 * (a miss) are never cached either, so nothing here can hide a push.
 *
 * Two tiers. T1: this isolate, an LRU bounded by bytes (FACT_CACHE_BYTES), each entry with the
 * time its D1 read began. T2 (PULL_CACHE_EDGE=true, off by default): the Cache API with synthetic
 * keys (under a `.invalid` host, naming the registry's own host too), shared by the isolates of one
 * data centre; it does nothing on *.workers.dev. A hit in either tier is served only while younger
 * than FACT_TTL = min(PULL_CACHE_TTL_SECONDS, the registry token's lifetime); a T2 entry carries
 * its read time too, checked against the clock, not only the Cache API's max-age.
 *
 * Who reads them: only a request whose token grants pull and neither push nor delete on the
 * repository (src/routes/v2/pull-source.ts), and never in a proxy-cache namespace. Pushers keep
 * reading D1, and a pusher's blob HEAD keeps touching the blob (touchBlobs, src/registry/blobs.ts),
 * so garbage collection's contract is unchanged. Keys are built from the ONE canonical repository
 * name (src/registry/repository-name.ts) and a sha256 digest, so a fact of `a/x` never answers
 * for `a/y` or `b/x`.
 *
 * Why each cause stops a fact being served, and within what bound (also the README's "Speed and
 * scale at the edge"):
 * - Revoked grant, made-private repository, deleted account or namespace: the right to pull is the
 *   token's `access` claim, fixed at /v2/auth for the token's life (TOKEN_TTL_SECONDS) with or
 *   without this cache; facts are read only after that claim granted pull. A token minted after
 *   the change lacks pull, so its requests are refused before any fact is read. Bound: the token's
 *   lifetime, as before: a cached fact never outlives the right to use it by more than that. (The
 *   isolate that changes a visibility or deletes a namespace also forgets its facts at once.)
 * - Deleted repository: its row is renamed to a tombstone at once, so D1 answers no more; facts
 *   under its name live at most FACT_TTL in other isolates and data centres (≤ the token lifetime,
 *   which the deleted repository's pullers hold anyway). A repository re-created under the name
 *   may see the old facts for at most FACT_TTL. The deleting isolate forgets at once.
 * - Deleted manifest (DELETE by digest), deleted blob link: at most FACT_TTL elsewhere; at once in
 *   the isolate that handled the DELETE.
 * - Collected blob: GC deletes the row, then the R2 object. An F1 hit whose R2 get finds nothing
 *   drops the fact and asks D1 once more: it answers BLOB_UNKNOWN if the blob is gone (or serves
 *   it from its new key if re-pushed). That second ask reads the request's session: a replica that
 *   still lists the collected row leads to a second empty R2 get, whose BLOB_UNKNOWN (a miss) is
 *   asked once more of the primary (withPrimaryRetry), so lag costs reads, never a wrong answer. A HEAD from F1 may answer 200 for at most FACT_TTL after
 *   collection; the GET that follows answers BLOB_UNKNOWN. The GC pass forgets in its isolate.
 * Forgetting is exact in this isolate: each forget bumps an epoch of its scope (name, namespace,
 * digest or one fact), and a fact is kept or served only when no forget of its scopes happened
 * after its D1 read began, so a read racing a delete cannot put a stale fact back.
 */
import { readConfig } from "../config";
import type { Manifest } from "../db/schema";
import { TOKEN_TTL_SECONDS } from "../identity/registry-tokens";
import { clock } from "../lib/clock";
import { SizedLru } from "../lib/sized-lru";
import {
  bytesUrl,
  deleteEdge,
  edgeUrl,
  type FactKind,
  readEdge,
  readEdgeBytes,
  writeEdge,
  writeEdgeBytes,
} from "./pull-cache-edge";
import type { Digest } from "./reference";
import { namespaceOf } from "./repository-name";

/** T1's budget: facts are ~300-600 bytes each, so tens of thousands per isolate (of 128 MB). */
export const FACT_CACHE_BYTES = 8 * 1024 * 1024;
/** A manifest row with large annotations is not kept (it would push out hundreds of others). */
const MAX_FACT_BYTES = 16 * 1024;
/** Forget records kept before starting over (every fact older than that point is then dropped). */
const MAX_FORGOTTEN = 10_000;
type Kind = FactKind;
/** F1's value: the part of src/registry/blobs.ts's BlobInfo a pull needs. */
export interface LinkFact {
  digest: Digest;
  size: number;
  storageKey: string;
}
interface Entry<V> {
  value: V;
  /** clock.now() when the D1 read began. */
  readAt: number;
  /** The forget counter when the D1 read began. */
  mark: number;
}

/** Taken before a D1 read whose answer may become a fact: see {@link PullFacts.mark}. */
export interface FactMark {
  readonly mark: number;
  readonly readAt: number;
}

const facts = new SizedLru<string, Entry<LinkFact | Manifest>>(FACT_CACHE_BYTES, MAX_FACT_BYTES);
/** scope → the counter and time of its latest forget in this isolate. */
const forgotten = new Map<string, { mark: number; at: number }>();
let counter = 0;
/** Facts read before this mark (and T2 entries read before floorAt) are void: the map was cleared. */
let floor = 0;
let floorAt = 0;
/**
 * The deployments (registry hosts) whose T2 this isolate used: forgets also delete the keys they
 * know there. Usually one; the host is part of every T2 key, so two registries sharing a zone's
 * cache never answer each other's pulls.
 */
const edgeDeployments = new Set<string>();

const factKey = (kind: Kind, name: string, digest: string) => `${kind}\n${name}\n${digest}`;
const scopesOf = (kind: Kind, name: string, digest: string) => [
  `name\n${name}`,
  `namespace\n${namespaceOf(name)}`,
  `digest\n${digest}`,
  factKey(kind, name, digest),
];

/** FACT_TTL in milliseconds for this configuration; 0 turns the cache off. */
export function factTtlMs(env: Env): number {
  return Math.min(readConfig(env).PULL_CACHE_TTL_SECONDS, TOKEN_TTL_SECONDS) * 1000;
}

/** Whether a fact read at `mark`/`readAt` is still valid in this isolate at `now`. */
function valid(scopes: string[], read: FactMark, ttlMs: number, now: number, byMark: boolean): boolean {
  const age = now - read.readAt;
  if (!(age >= 0 && age < ttlMs)) return false;
  if (byMark ? read.mark < floor : read.readAt <= floorAt) return false;
  for (const scope of scopes) {
    const f = forgotten.get(scope);
    // By mark within this isolate (exact); by time for T2 entries another isolate may have read.
    if (f && (byMark ? f.mark > read.mark : f.at >= read.readAt)) return false;
  }
  return true;
}

function forget(scope: string): void {
  counter++;
  if (forgotten.size >= MAX_FORGOTTEN) {
    forgotten.clear();
    floor = counter;
    floorAt = clock.now();
  }
  forgotten.set(scope, { mark: counter, at: clock.now() });
}

/** The facts a pull-only request may use; built per request by src/routes/v2/pull-source.ts. */
export interface PullFacts {
  /** Take BEFORE the D1 read whose answer is then put: a forget in between voids the fact. */
  mark(): FactMark;
  link(name: string, digest: Digest): Promise<LinkFact | undefined>;
  putLink(name: string, blob: LinkFact, read: FactMark): void;
  /** Drops a link whose bytes were not found (a collected or re-pushed blob). */
  dropLink(name: string, digest: Digest): void;
  manifest(name: string, digest: Digest): Promise<Manifest | undefined>;
  putManifest(name: string, manifest: Manifest, read: FactMark): void;
  /**
   * F3 in T2: a manifest's bytes by digest, shared by the data centre's isolates (the isolate's
   * own copy is the ContentCache). Undefined without PULL_CACHE_EDGE. Asked only after F2 or D1.
   */
  sharedBytes: SharedBytes | undefined;
}

export interface SharedBytes {
  get(digest: string): Promise<Uint8Array | undefined>;
  put(digest: string, bytes: Uint8Array): void;
}

/** Where the request is served: its `waitUntil`, and the registry's host (the token audience). */
export interface FactContext {
  waitUntil: (work: Promise<unknown>) => void;
  deployment: string;
}

/** The facts for this configuration, or null when PULL_CACHE_TTL_SECONDS is 0. */
export function pullFacts(env: Env, { waitUntil, deployment }: FactContext): PullFacts | null {
  const ttlMs = factTtlMs(env);
  if (ttlMs <= 0) return null;
  const edge = readConfig(env).PULL_CACHE_EDGE;
  if (edge) edgeDeployments.add(deployment);
  const url = (kind: Kind, name: string, digest: string) => edgeUrl(deployment, kind, name, digest);

  async function get<V extends LinkFact | Manifest>(kind: Kind, name: string, digest: string): Promise<V | undefined> {
    const key = factKey(kind, name, digest);
    const scopes = scopesOf(kind, name, digest);
    const now = clock.now();
    const held = facts.get(key);
    if (held && valid(scopes, held, ttlMs, now, true)) return held.value as V;
    if (held) facts.delete(key);
    if (!edge) return undefined;
    const shared = await readEdge<V>(url(kind, name, digest));
    const found = shared && { ...shared, mark: counter };
    if (!found || !valid(scopes, found, ttlMs, now, false)) return undefined;
    // Kept in T1 with its original read time (never younger than it is), as of the current mark.
    facts.set(key, { ...found, mark: counter }, sizeOf(found.value));
    return found.value;
  }

  function put(kind: Kind, name: string, digest: string, value: LinkFact | Manifest, read: FactMark): void {
    // A forget since the read began: the answer may predate the change, so it is not kept.
    if (!valid(scopesOf(kind, name, digest), read, ttlMs, read.readAt, true)) return;
    const entry = { value, readAt: read.readAt, mark: read.mark };
    if (!facts.set(factKey(kind, name, digest), entry, sizeOf(value))) return;
    if (edge) waitUntil(writeEdge(url(kind, name, digest), value, read.readAt, ttlMs).catch(() => {}));
  }

  return {
    mark: () => ({ mark: counter, readAt: clock.now() }),
    link: (name, digest) => get<LinkFact>("link", name, digest),
    putLink: (name, blob, read) =>
      put("link", name, blob.digest, { digest: blob.digest, size: blob.size, storageKey: blob.storageKey }, read),
    dropLink: (name, digest) => {
      forget(factKey("link", name, digest));
      if (edge) waitUntil(deleteEdge([url("link", name, digest)]).catch(() => {}));
    },
    manifest: (name, digest) => get<Manifest>("manifest", name, digest),
    putManifest: (name, manifest, read) => put("manifest", name, manifest.digest, manifest, read),
    sharedBytes: edge
      ? {
          get: (digest) => readEdgeBytes(bytesUrl(deployment, digest), digest),
          put: (digest, bytes) => waitUntil(writeEdgeBytes(bytesUrl(deployment, digest), bytes, ttlMs).catch(() => {})),
        }
      : undefined,
  };
}

/** Heap an entry holds: its JSON twice over (UTF-16 strings) plus the key and the entry objects. */
function sizeOf(value: LinkFact | Manifest): number {
  return 2 * JSON.stringify(value).length + 256;
}

// --- Forget hooks: called where this isolate causes a change (repository deletion, visibility,
// manifest or blob-link deletion, GC, namespace deletion). Other isolates rely on FACT_TTL.

/** Every fact of repository `name` (deleted, made private, moved). */
export function forgetRepository(name: string): Promise<void> {
  forget(`name\n${name}`);
  return deleteKnown((fact) => fact.name === name);
}

/** Every fact of the namespace's repositories (the namespace is being deleted). */
export function forgetNamespace(namespace: string): Promise<void> {
  forget(`namespace\n${namespace}`);
  return deleteKnown((fact) => namespaceOf(fact.name) === namespace);
}

/** That `name` holds manifest `digest` (deleted by digest). */
export function forgetManifest(name: string, digest: string): Promise<void> {
  forget(factKey("manifest", name, digest));
  return deleteEdge([...edgeDeployments].map((host) => edgeUrl(host, "manifest", name, digest)));
}

/** That `name` links blob `digest` (the link was deleted). */
export function forgetLink(name: string, digest: string): Promise<void> {
  forget(factKey("link", name, digest));
  return deleteEdge([...edgeDeployments].map((host) => edgeUrl(host, "link", name, digest)));
}

/** Every fact of these digests, in any repository (garbage collection deleted the blobs). */
export function forgetDigests(digests: readonly string[]): Promise<void> {
  if (digests.length === 0) return Promise.resolve();
  for (const digest of digests) forget(`digest\n${digest}`);
  const gone = new Set(digests);
  return deleteKnown((fact) => gone.has(fact.digest));
}

/** Deletes from T2 the keys this isolate holds in T1 that `match` (others live out FACT_TTL). */
function deleteKnown(match: (fact: { kind: Kind; name: string; digest: string }) => boolean): Promise<void> {
  if (edgeDeployments.size === 0) return Promise.resolve();
  const urls: string[] = [];
  for (const key of facts.keys()) {
    const [kind, name, digest] = key.split("\n") as [Kind, string, string];
    if (match({ kind, name, digest })) for (const host of edgeDeployments) urls.push(edgeUrl(host, kind, name, digest));
  }
  return deleteEdge(urls);
}

/** Empties T1 and the forget records, as a new isolate starts (tests: another isolate of the data centre). */
export function resetPullCache(): void {
  for (const key of [...facts.keys()]) facts.delete(key);
  forgotten.clear();
  floor = counter;
  floorAt = 0;
}
