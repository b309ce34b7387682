/**
 * Fair use: per-namespace and per-requester budgets of requests and of pulled bytes, so that one
 * tenant cannot starve the others (issue #19). Each budget is a token bucket
 * (./token-bucket.ts) kept by a Durable Object per key (durable-objects/FairUseDO.ts) and spent
 * through isolate leases (./leases.ts). A request over a budget is refused with
 * {@link FairUseExceeded}: 429 and Retry-After, the seconds until the bucket holds it again.
 *
 * Who is charged:
 * - the namespace (`ns:<name>`): every /v2 request on one of its repositories that passed the access
 *   check (a stranger refused at the door spends no tenant's budget), every /api/v1 request whose
 *   path names it (`/repository/{ns}/…`, `/organization/{ns}…`) and that was answered without an
 *   error (charged after the answer: {@link chargeAnswered}), and the bytes of every blob GET from
 *   it (FAIR_USE_NAMESPACE_*, or a superuser's override for the organization: ./overrides.ts);
 * - the requester: the account (user or robot) behind the registry token, OAuth token, robot token
 *   or session (`account:<id>`: registry tokens live minutes and are minted again, so the account
 *   is what a "token" budget can hold), or for anonymous requests the client address (`ip:<addr>`,
 *   IPv6 by /64), for every /v2 and /api/v1 request and every blob GET's bytes (FAIR_USE_TOKEN_*).
 *
 * Superusers are never charged: they are the operators who must be able to act on a tenant that is
 * being limited, and there are few of them. A budget of 0 is off and costs nothing: no object is
 * asked, and with every default 0 the requester's budgets cost not even a lookup. When the
 * counters cannot be reached the request goes on (logged): fair use must not take the registry down.
 */
import { readConfig } from "../config";
import type { Db } from "../db/client";
import { DomainError } from "../errors/domain";
import { chargeAll, type Charge, knownRefusal, type Refusal } from "./leases";
import { namespaceOverrides } from "./overrides";
import type { BucketPolicy } from "./token-bucket";
import { loggableError } from "../lib/loggable-error";

const MINUTE_MS = 60_000;
const HOUR_MS = 3_600_000;

/** A request refused by a fair-use budget: every surface answers 429 with Retry-After in its own shape. */
export class FairUseExceeded extends DomainError {
  constructor(
    readonly retryAfterSeconds: number,
    budget: string,
  ) {
    super("too_many_requests", {
      message: `Too many requests: ${budget} is used up; retry after ${retryAfterSeconds} s`,
      headers: { "Retry-After": String(retryAfterSeconds) },
    });
    this.name = "FairUseExceeded";
  }
}

/**
 * Who a request is charged to besides its namespace: `key` is `account:<id>`, `ip:<address>` or
 * `build:<uuid>` (a build's own credential); `username` an account's, for the superuser exemption.
 */
export interface Requester {
  key: string;
  username: string | null;
}

/** What a charge needs beyond the request's facts. */
export interface FairUseContext {
  env: Env;
  db: Db;
  waitUntil: (promise: Promise<unknown>) => void;
}

const policy = (capacity: number, periodMs: number): BucketPolicy | null =>
  capacity > 0 ? { capacity, periodMs } : null;

function exempt(env: Env, requester: Requester): boolean {
  return requester.username !== null && readConfig(env).SUPER_USERS.includes(requester.username);
}

/** The namespace's budgets: its override where a superuser set one, else the defaults. */
async function namespacePolicies(ctx: FairUseContext, namespace: string) {
  const config = readConfig(ctx.env);
  const override = (await namespaceOverrides(ctx.db, ctx.waitUntil)).get(namespace);
  const requests = override?.requestsPerMinute ?? config.FAIR_USE_NAMESPACE_REQUESTS_PER_MINUTE;
  const bytes = override?.pullBytesPerHour ?? config.FAIR_USE_NAMESPACE_PULL_BYTES_PER_HOUR;
  return { requests: policy(requests, MINUTE_MS), bytes: policy(bytes, HOUR_MS) };
}

/** Charges one request to the requester; throws {@link FairUseExceeded} when its budget refuses it. */
export async function chargeRequester(ctx: FairUseContext, requester: Requester) {
  if (exempt(ctx.env, requester)) return;
  const perRequester = policy(readConfig(ctx.env).FAIR_USE_TOKEN_REQUESTS_PER_MINUTE, MINUTE_MS);
  if (perRequester)
    await charge(ctx.env, [{ key: requester.key, dimension: "requests", policy: perRequester, cost: 1 }]);
}

/** Charges one request to `namespace`; throws {@link FairUseExceeded} when its budget refuses it. */
export async function chargeNamespace(ctx: FairUseContext, requester: Requester, namespace: string) {
  if (exempt(ctx.env, requester)) return;
  const { requests } = await guarded(() => namespacePolicies(ctx, namespace), { requests: null, bytes: null });
  if (requests) await charge(ctx.env, [{ key: `ns:${namespace}`, dimension: "requests", policy: requests, cost: 1 }]);
}

/**
 * For /api/v1, where the namespace is known from the path before anyone checked the caller may act
 * on it: refuses the request only if this isolate already knows the namespace's request budget is
 * spent, asking no one. The charge itself comes after the answer ({@link chargeAnswered}), so a
 * stranger's refused calls (401, 403, 404) spend nothing of a tenant's budget.
 */
export async function refuseKnownSpent(ctx: FairUseContext, requester: Requester, namespace: string) {
  if (exempt(ctx.env, requester)) return;
  const { requests } = await guarded(() => namespacePolicies(ctx, namespace), { requests: null, bytes: null });
  if (!requests) return;
  const refusal = knownRefusal([{ key: `ns:${namespace}`, dimension: "requests", policy: requests, cost: 1 }]);
  if (refusal) throw exceeded(refusal);
}

/**
 * Charges an answered /api/v1 request to its namespace, after the answer (through `waitUntil`):
 * a refusal is remembered for the namespace's next requests ({@link refuseKnownSpent}).
 */
export async function chargeAnswered(ctx: FairUseContext, requester: Requester, namespace: string) {
  if (exempt(ctx.env, requester)) return;
  const { requests } = await guarded(() => namespacePolicies(ctx, namespace), { requests: null, bytes: null });
  if (requests)
    await guarded(
      () => chargeAll(ctx.env, [{ key: `ns:${namespace}`, dimension: "requests", policy: requests, cost: 1 }]),
      null,
    );
}

/**
 * Charges `bytes` about to be served from `namespace` (a blob GET's Content-Length, ranges
 * included) to the namespace and the requester, BEFORE any is sent; throws
 * {@link FairUseExceeded} when a budget refuses them.
 */
export async function chargePull(ctx: FairUseContext, requester: Requester, namespace: string, bytes: number) {
  if (bytes <= 0 || exempt(ctx.env, requester)) return;
  const charges: Charge[] = [];
  const perRequester = policy(readConfig(ctx.env).FAIR_USE_TOKEN_PULL_BYTES_PER_HOUR, HOUR_MS);
  if (perRequester) charges.push({ key: requester.key, dimension: "bytes", policy: perRequester, cost: bytes });
  const { bytes: perNamespace } = await guarded(() => namespacePolicies(ctx, namespace), {
    requests: null,
    bytes: null,
  });
  if (perNamespace) charges.push({ key: `ns:${namespace}`, dimension: "bytes", policy: perNamespace, cost: bytes });
  await charge(ctx.env, charges);
}

async function charge(env: Env, charges: Charge[]): Promise<void> {
  if (charges.length === 0) return;
  const refusal = await guarded(() => chargeAll(env, charges), null);
  if (refusal) throw exceeded(refusal);
}

const exceeded = (refusal: Refusal) =>
  new FairUseExceeded(Math.max(1, Math.ceil(refusal.retryAfterMs / 1000)), budgetName(refusal));

function budgetName(refusal: Refusal): string {
  const whose = refusal.key.startsWith("ns:") ? "the namespace's" : "the caller's";
  return `${whose} ${refusal.dimension === "bytes" ? "pull bandwidth budget" : "request budget"}`;
}

/** `fn`'s answer, or `fallback` (logged) when the counters or the overrides cannot be reached. */
async function guarded<T>(fn: () => Promise<T>, fallback: T): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    console.error(
      JSON.stringify({ msg: "fair use: counters unreachable, request let through", err: loggableError(err) }),
    );
    return fallback;
  }
}
