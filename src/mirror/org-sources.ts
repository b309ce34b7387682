/**
 * The source registries of organization mirroring (Quay util/orgmirror): how a source
 * namespace's repositories are listed, and how a connection is tested, on a Quay and on a Harbor.
 * - `quay` (QuayAdapter): `GET /api/v1/repository?namespace=…` (with `public=true` when no token
 *   is given), following `next_page` until it is absent; the password is the API token, sent as
 *   `Authorization: Bearer` (Quay's API takes no Basic). A second Wharf answers the same.
 *   Connection test: `GET /api/v1/organization/{ns}`, then `/api/v1/users/{ns}` on a 404.
 * - `harbor` (HarborAdapter): `GET /api/v2.0/projects/{p}/repositories?page=…&page_size=100`, names
 *   `project/name` with the project stripped, next page while the `Link` header has rel="next" and
 *   the page is not empty; Basic credentials. Connection test: `GET /api/v2.0/projects/{p}`.
 * Every request goes through the outbound guard (src/lib/outbound.ts), redirects refused as Quay's
 * `allow_redirects=False` refuses them, each answer read at most {@link PAGE_MAX_BYTES}. Errors
 * carry Quay's messages; a guard refusal is Quay's generic {@link SSRF_REFUSAL}.
 */
import { guardedFetch, OutboundError, readCapped } from "../lib/outbound";
import { urlRefusal } from "../lib/outbound-addresses";
import { readConfig } from "../config";

export type SourceRegistryType = "harbor" | "quay";

/** Quay's SSRF_GENERIC_ERROR: one answer for every refused address, so none can be probed. */
export const SSRF_REFUSAL = "The provided registry URL is not allowed";
/** One page of a listing: Quay pages are 100 repositories of a few hundred bytes. */
export const PAGE_MAX_BYTES = 4 * 1024 * 1024;
/**
 * Pages followed at most (Quay follows them all): each page is a subrequest, and a queue
 * invocation has a bounded number of them; 100 pages of 100 is 10,000 repositories. A source with
 * more fails the discovery, saying so, rather than creating an arbitrary part of it.
 */
export const MAX_PAGES = 100;
const HARBOR_PAGE_SIZE = 100;
const SOURCE_TIMEOUT_MS = 30_000;

/** A discovery failure; `message` is Quay's, fit for the log and the API's answer. */
export class SourceError extends Error {
  override readonly name = "SourceError";
}

export interface SourceConfig {
  type: SourceRegistryType;
  /** The registry's base URL as configured (`https://quay.example.com`). */
  url: string;
  namespace: string;
  username: string | null;
  password: string | null;
}

/**
 * Quay's `validate_external_registry_url` format checks, then the outbound guard's rule (Quay's
 * blocklist, answered with {@link SSRF_REFUSAL}); null when the URL may be used.
 */
export function registryUrlProblem(env: { ALLOW_PRIVATE_OUTBOUND?: unknown }, text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === "") return "External registry URL is required";
  if (!URL.canParse(trimmed)) return "Invalid URL format";
  const url = new URL(trimmed);
  const scheme = url.protocol.slice(0, -1);
  if (scheme !== "http" && scheme !== "https") return `Invalid URL scheme '${scheme}': only HTTP and HTTPS are allowed`;
  if (url.username || url.password) return "URLs with embedded credentials are not allowed";
  if (!url.hostname) return "URL must include a hostname";
  return urlRefusal(url, readConfig(env).ALLOW_PRIVATE_OUTBOUND) ? SSRF_REFUSAL : null;
}

/** The base every path is put after: the URL without its trailing slashes (Quay's `rstrip("/")`). */
function baseOf(config: SourceConfig): string {
  return config.url.trim().replace(/\/+$/, "");
}

function authorization(config: SourceConfig): Record<string, string> {
  if (config.type === "quay") return config.password ? { Authorization: `Bearer ${config.password}` } : {};
  if (!config.username || !config.password) return {};
  const bytes = new TextEncoder().encode(`${config.username}:${config.password}`);
  return { Authorization: `Basic ${btoa(String.fromCharCode(...bytes))}` };
}

/** One GET through the guard; connection failures become Quay's messages. */
async function get(env: { ALLOW_PRIVATE_OUTBOUND?: unknown }, config: SourceConfig, url: string): Promise<Response> {
  const base = baseOf(config);
  try {
    return await guardedFetch(env, url, {
      headers: { Accept: "application/json", ...authorization(config) },
      timeoutMs: SOURCE_TIMEOUT_MS,
    });
  } catch (err) {
    if (!(err instanceof OutboundError)) throw err;
    if (err.kind === "refused") throw new SourceError(SSRF_REFUSAL);
    if (err.kind === "redirect") throw new SourceError("Registry returned redirect");
    if (err.kind === "timeout") throw new SourceError(`Connection to ${base} timed out`);
    const registry = config.type === "quay" ? "Quay" : "Harbor";
    throw new SourceError(`Failed to connect to ${registry} registry at ${base}`);
  }
}

/** Quay's status handling of a listing page (404, 401, 403, 3xx, other errors). */
async function checkListing(config: SourceConfig, res: Response): Promise<void> {
  if (res.ok) return;
  await res.body?.cancel();
  const ns = config.namespace;
  const quay = config.type === "quay";
  if (res.status === 404)
    throw new SourceError(
      quay ? `Namespace '${ns}' not found on Quay registry` : `Project '${ns}' not found on Harbor registry`,
    );
  if (res.status === 401) throw new SourceError("Authentication failed: invalid credentials");
  if (res.status === 403)
    throw new SourceError(quay ? `Access forbidden to namespace '${ns}'` : `Access forbidden to project '${ns}'`);
  if (res.status >= 300 && res.status < 400) throw new SourceError(`Registry returned redirect (${res.status})`);
  throw new SourceError(`${quay ? "Quay" : "Harbor"} API returned error: ${res.status}`);
}

async function jsonOf(res: Response): Promise<unknown> {
  try {
    return JSON.parse(new TextDecoder().decode(await readCapped(res, PAGE_MAX_BYTES)));
  } catch {
    throw new SourceError("Unexpected error during repository discovery");
  }
}

/** A repository name longer than this cannot exist (Quay's limit): longer ones are not discovered. */
export const MAX_NAME_LENGTH = 255;

/** An entry's `name`, when it is a string. */
function nameOf(entry: unknown): string | null {
  const name = typeof entry === "object" && entry !== null ? (entry as { name?: unknown }).name : undefined;
  return typeof name === "string" ? name : null;
}

const fits = (name: string) => name.length > 0 && name.length <= MAX_NAME_LENGTH;

async function listQuay(env: { ALLOW_PRIVATE_OUTBOUND?: unknown }, config: SourceConfig): Promise<string[]> {
  const names: string[] = [];
  let nextPage: string | null = null;
  for (let page = 0; page < MAX_PAGES; page++) {
    const url = new URL(`${baseOf(config)}/api/v1/repository`);
    url.searchParams.set("namespace", config.namespace);
    if (!config.password) url.searchParams.set("public", "true");
    if (nextPage) url.searchParams.set("next_page", nextPage);
    const res = await get(env, config, url.href);
    await checkListing(config, res);
    const body = (await jsonOf(res)) as { repositories?: unknown; next_page?: unknown } | null;
    const repositories = Array.isArray(body?.repositories) ? body.repositories : [];
    for (const entry of repositories) {
      const name = nameOf(entry);
      if (name !== null && fits(name)) names.push(name);
    }
    nextPage = typeof body?.next_page === "string" && body.next_page !== "" ? body.next_page : null;
    if (!nextPage) return names;
  }
  throw new SourceError(`More than ${MAX_PAGES} pages of repositories`);
}

/** Whether a `Link` header names a rel="next" (RFC 8288). */
const hasNext = (link: string | null) => link !== null && /;\s*rel="?next"?/i.test(link);

async function listHarbor(env: { ALLOW_PRIVATE_OUTBOUND?: unknown }, config: SourceConfig): Promise<string[]> {
  const names: string[] = [];
  const project = encodeURIComponent(config.namespace);
  for (let page = 1; page <= MAX_PAGES; page++) {
    const url = `${baseOf(config)}/api/v2.0/projects/${project}/repositories?page=${page}&page_size=${HARBOR_PAGE_SIZE}`;
    const res = await get(env, config, url);
    await checkListing(config, res);
    const link = res.headers.get("Link");
    const body = await jsonOf(res);
    if (!Array.isArray(body) || body.length === 0) return names;
    for (const entry of body) {
      const full = nameOf(entry);
      if (full === null) continue;
      // Harbor names `project/repo`: the project prefix goes.
      const name = full.includes("/") ? full.slice(full.indexOf("/") + 1) : full;
      if (fits(name)) names.push(name);
    }
    if (!hasNext(link)) return names;
  }
  throw new SourceError(`More than ${MAX_PAGES} pages of repositories`);
}

/** The source namespace's repository names (without the namespace), in the source's order. */
export function listSourceRepositories(
  env: { ALLOW_PRIVATE_OUTBOUND?: unknown },
  config: SourceConfig,
): Promise<string[]> {
  return config.type === "quay" ? listQuay(env, config) : listHarbor(env, config);
}

/** Quay's `test_connection`: whether the namespace answers, with Quay's message. */
export async function testSourceConnection(
  env: { ALLOW_PRIVATE_OUTBOUND?: unknown },
  config: SourceConfig,
): Promise<{ success: boolean; message: string }> {
  const ns = encodeURIComponent(config.namespace);
  const base = baseOf(config);
  const ask = async (path: string) => {
    const res = await get(env, config, `${base}${path}`);
    await res.body?.cancel();
    return res.status;
  };
  try {
    const status = await ask(config.type === "quay" ? `/api/v1/organization/${ns}` : `/api/v2.0/projects/${ns}`);
    if (status === 200) return { success: true, message: "Connection successful" };
    if (status === 401) return { success: false, message: "Authentication failed" };
    if (config.type === "harbor") {
      if (status === 403) return { success: false, message: "Access forbidden - check permissions" };
      if (status === 404) return { success: false, message: `Project '${config.namespace}' not found` };
    } else if (status === 404) {
      // A user's namespace rather than an organization's (Quay falls back the same way).
      if ((await ask(`/api/v1/users/${ns}`)) === 200) return { success: true, message: "Connection successful" };
      return { success: false, message: `Namespace '${config.namespace}' not found` };
    }
    return { success: false, message: `Unexpected response: ${status}` };
  } catch (err) {
    if (err instanceof SourceError) {
      if (/timed out$/.test(err.message)) return { success: false, message: "Connection timed out" };
      if (err.message === SSRF_REFUSAL) return { success: false, message: SSRF_REFUSAL };
      return { success: false, message: `Connection error: ${err.message}` };
    }
    throw err;
  }
}
