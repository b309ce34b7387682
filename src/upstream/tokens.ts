/**
 * Bearer tokens from an upstream's token service (Docker's token authentication specification,
 * "Requesting a Token"): `GET <realm>?service=…&scope=…`, with the credentials as HTTP Basic or
 * anonymously; the answer's `token` (or OAuth's `access_token`) and `expires_in` (60 s when
 * absent, as the specification says). Tokens are kept in the isolate per (registry, realm,
 * service, scope, credentials) until shortly before they expire, in a cache bounded by bytes.
 */
import { z } from "zod";
import { clock } from "../lib/clock";
import { base64, sha256Hex } from "../lib/encoding";
import { guardedFetch, readCapped } from "../lib/outbound";
import { SizedLru } from "../lib/sized-lru";
import type { Challenge } from "./challenge";
import { asUpstreamError } from "./failures";
import { type UpstreamConfig, UpstreamError } from "./registry";

/** The specification's default lifetime when the answer names none. */
const DEFAULT_EXPIRES_IN_S = 60;
/** A token is dropped this long before it expires, so that no request carries one that dies in flight. */
const EXPIRY_MARGIN_MS = 30_000;
/** A token answer is a small JSON document; Docker Hub's are a few KiB. */
const TOKEN_ANSWER_MAX_BYTES = 64 * 1024;
export const TOKEN_TIMEOUT_MS = 15_000;

const tokenAnswer = z
  .object({
    token: z.string().min(1).optional(),
    access_token: z.string().min(1).optional(),
    expires_in: z.number().positive().optional(),
  })
  .refine((a) => a.token || a.access_token);

/** 1 MiB of tokens: a few hundred of Docker Hub's. */
const cache = new SizedLru<string, { token: string; expiresAtMs: number }>(1024 * 1024, 16 * 1024);

export type BearerChallenge = Extract<Challenge, { scheme: "bearer" }>;

/** A token for `scope` (the challenge's own scope when the caller names none). */
export async function bearerToken(
  env: { ALLOW_PRIVATE_OUTBOUND?: unknown },
  config: UpstreamConfig,
  challenge: BearerChallenge,
  scope: string | undefined,
  options: { fresh: boolean },
): Promise<string> {
  const key = await cacheKey(config, challenge, scope);
  const cached = options.fresh ? undefined : cache.get(key);
  if (cached && cached.expiresAtMs > clock.now()) return cached.token;
  cache.delete(key);
  // Concurrent misses each ask (check, then set): a request sharing another request's pending
  // token would hang should that request be cancelled first (workerd cancels the continuations
  // of promises that request created), and a token request is cheap.
  const url = tokenUrl(config, challenge, scope);
  const headers: Record<string, string> = { Accept: "application/json" };
  if (config.credentials) headers.Authorization = basicAuthorization(config.credentials);
  const res = await guardedFetch(env, url, { headers, timeoutMs: TOKEN_TIMEOUT_MS }).catch((err: unknown) =>
    Promise.reject(asUpstreamError(err, "the token service")),
  );
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    throw new UpstreamError("unauthorized", `the token service ${url.origin} refused the credentials (${res.status})`);
  }
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new UpstreamError(
      res.status >= 500 ? "unreachable" : "protocol",
      `the token service ${url.origin} answered ${res.status}`,
    );
  }
  const bytes = await readCapped(res, TOKEN_ANSWER_MAX_BYTES).catch((err: unknown) =>
    Promise.reject(asUpstreamError(err, "the token service")),
  );
  const parsed = tokenAnswer.safeParse(parseJson(bytes));
  if (!parsed.success) throw new UpstreamError("protocol", `the token service ${url.origin} sent no token`);
  const token = (parsed.data.token ?? parsed.data.access_token)!;
  const lifetimeMs = (parsed.data.expires_in ?? DEFAULT_EXPIRES_IN_S) * 1000;
  const expiresAtMs = clock.now() + lifetimeMs - Math.min(EXPIRY_MARGIN_MS, lifetimeMs / 2);
  cache.set(key, { token, expiresAtMs }, key.length + token.length);
  return token;
}

/** `Basic base64(user:password)` (RFC 7617), UTF-8 as Docker clients send it. */
export function basicAuthorization(credentials: { username: string; password: string }): string {
  return `Basic ${base64.encode(new TextEncoder().encode(`${credentials.username}:${credentials.password}`))}`;
}

function tokenUrl(config: UpstreamConfig, challenge: BearerChallenge, scope: string | undefined): URL {
  if (!URL.canParse(challenge.realm)) throw new UpstreamError("protocol", "the challenge's realm is not a URL");
  const url = new URL(challenge.realm);
  // Credentials travel in the clear only where the configuration allows plain http.
  if (url.protocol !== "https:" && config.credentials && !config.insecure)
    throw new UpstreamError("refused", `the token service ${url.origin} is not https`);
  if (challenge.service) url.searchParams.set("service", challenge.service);
  const wanted = scope ?? challenge.scope;
  if (wanted) url.searchParams.set("scope", wanted);
  return url;
}

/** The credentials enter the key only as a hash, so that the cache never holds a password. */
async function cacheKey(config: UpstreamConfig, challenge: BearerChallenge, scope: string | undefined) {
  const who = config.credentials ? `${config.credentials.username}:${config.credentials.password}` : "";
  const hash = await sha256Hex(who);
  return JSON.stringify([config.host, challenge.realm, challenge.service, scope ?? challenge.scope, hash]);
}

function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return null;
  }
}

/** Forgets every token (tests). */
export function clearUpstreamTokens(): void {
  for (const key of [...cache.keys()]) cache.delete(key);
}
