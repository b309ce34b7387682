/**
 * Keyless robots (Quay 3.x robot federation): a robot lists the external OIDC identities
 * (issuer + subject) that may act as it. `GET /oauth2/federation/robot/token` takes Basic
 * `<robot>:<OIDC JWT>`, verifies the JWT against the issuer's keys (OpenID Connect Discovery 1.0:
 * `<issuer>/.well-known/openid-configuration` → `jwks_uri`) and answers a robot token valid one
 * hour, which registry clients then use as the robot's password. As in Quay, `exp` and the
 * signature are checked, the audience is not (entries carry none), and `sub` must be listed for
 * that issuer.
 */
import { eq, sql } from "drizzle-orm";
import { createRemoteJWKSet, customFetch, decodeJwt, jwtVerify, SignJWT, type JWTVerifyGetKey } from "jose";
import { z } from "zod";
import type { Db } from "../db/client";
import { robotFederations, type User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { guardedFetch, readCapped } from "../lib/outbound";
import type { LoginGuard } from "./login-limits";
import { signingKeys, TOKEN_ISSUER, type TokenKeyEnv, tokenVerificationKeys } from "./registry-tokens";
import { accountRef, commitWithEvents, conditionalEvent, namespaceEvent, written } from "./account-events";
import { commitLogin, type LoginAudit } from "./logins";
import { robotByName, robotNamespace, robotRef, type Robot } from "./robots";
import { clock } from "../lib/clock";

/** One hour, as Quay's ephemeral robot tokens. */
export const FEDERATED_TOKEN_TTL_SECONDS = 3600;
/** The audience of federated robot tokens: never a registry host, so /v2 refuses them as bearer tokens. */
const FEDERATED_AUDIENCE = "wharf:federated-robot";

export const federationSchema = z
  .array(
    z
      .object({
        issuer: z.url({ protocol: /^https?$/, error: "issuer must be an http(s) URL" }).max(2048),
        subject: z.string().min(1, "subject is required").max(1024),
      })
      .strict(),
  )
  .max(50)
  .refine(
    (entries) => new Set(entries.map((e) => `${e.issuer}\u0000${e.subject}`)).size === entries.length,
    "Duplicate federation entries",
  );

export type FederationEntry = { issuer: string; subject: string };

export async function listFederation(db: Db, robot: Robot): Promise<FederationEntry[]> {
  return db
    .select({ issuer: robotFederations.issuer, subject: robotFederations.subject })
    .from(robotFederations)
    .where(eq(robotFederations.robotId, robot.user.id))
    .orderBy(robotFederations.id)
    .all();
}

/**
 * Replaces the robot's entries with `entries` in one batch (Quay's POST sets the whole list), with
 * its `create_robot_federation` event naming the list set.
 */
export async function setFederation(
  db: Db,
  robot: Robot,
  entries: FederationEntry[],
  events: EventScope,
): Promise<FederationEntry[]> {
  const remove = db.delete(robotFederations).where(eq(robotFederations.robotId, robot.user.id));
  const insert =
    entries.length === 0
      ? []
      : [db.insert(robotFederations).values(entries.map((e) => ({ robotId: robot.user.id, ...e })))];
  const event = namespaceEvent("create_robot_federation", robotNamespace(robot), events.origin, {
    robot: robotRef(robot),
    federation: entries.map(({ issuer, subject }) => ({ issuer, subject })),
  });
  await commitWithEvents(db, events, [remove, ...insert], [event]);
  return listFederation(db, robot);
}

/** Removes every entry (Quay's DELETE), with `delete_robot_federation` when there were some. */
export async function clearFederation(db: Db, robot: Robot, events: EventScope): Promise<void> {
  const entries = eq(robotFederations.robotId, robot.user.id);
  const event = namespaceEvent("delete_robot_federation", robotNamespace(robot), events.origin, {
    robot: robotRef(robot),
  });
  const [row] = await db.batch([
    conditionalEvent(db, event, sql`exists (select 1 from ${robotFederations} where ${entries})`),
    db.delete(robotFederations).where(entries),
  ]);
  if (written(row)) events.publish([event]);
}

export class FederationRefused extends Error {}

/** Issuer URLs compare without a trailing slash (Keycloak and Entra print them either way). */
const canonicalIssuer = (issuer: string) => issuer.replace(/\/+$/, "");

/**
 * Keys per issuer, kept for ten minutes; jose's remote set refetches on an unknown `kid`, so a
 * rotated key is picked up without waiting.
 */
const issuerKeys = new Map<string, { keys: JWTVerifyGetKey; until: number }>();
const DISCOVERY_TTL_MS = 10 * 60_000;
const ISSUER_TIMEOUT_MS = 5_000;
/** Discovery documents and key sets are a few KiB; a larger answer is not one of them. */
const MAX_ISSUER_DOCUMENT_BYTES = 256 * 1024;

/**
 * What the exchange answers whenever the token is not proven, whatever the reason: the issuer
 * refused by the outbound guard, not there, not answering, answering nonsense, or a bad signature.
 * Any user can list any issuer, so a distinct answer would let them probe what answers where
 * through the registry (issue #12); the reason goes to the server's log instead.
 */
const NOT_VERIFIED = "The token could not be verified";

type FederationEnv = { WHARF_TOKEN_KEY?: string; ALLOW_PRIVATE_OUTBOUND?: unknown };

/** An issuer's JSON document through the outbound guard, capped in size. */
async function issuerDocument(env: FederationEnv, url: string): Promise<unknown> {
  const res = await guardedFetch(env, url, { headers: { Accept: "application/json" }, timeoutMs: ISSUER_TIMEOUT_MS });
  if (res.status !== 200) {
    await res.body?.cancel();
    throw new Error(`${url} answered ${res.status}`);
  }
  const bytes = await readCapped(res, MAX_ISSUER_DOCUMENT_BYTES);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error(`${url} answered no JSON`);
  }
}

async function keysOf(env: FederationEnv, issuer: string, now: number): Promise<JWTVerifyGetKey> {
  const known = issuerKeys.get(issuer);
  if (known && known.until > now) return known.keys;
  const discovery = (await issuerDocument(env, `${issuer}/.well-known/openid-configuration`)) as {
    issuer?: unknown;
    jwks_uri?: unknown;
  } | null;
  // OpenID Connect Discovery §4.3: the document's issuer must be the one asked for.
  if (typeof discovery?.issuer !== "string" || canonicalIssuer(discovery.issuer) !== issuer)
    throw new Error("issuer mismatch in the OpenID configuration");
  if (typeof discovery.jwks_uri !== "string" || !URL.canParse(discovery.jwks_uri))
    throw new Error("the OpenID configuration has no jwks_uri");
  // jose fetches (and refetches) the key set itself: through the guard, its body capped.
  const keys = createRemoteJWKSet(new URL(discovery.jwks_uri), {
    timeoutDuration: ISSUER_TIMEOUT_MS,
    [customFetch]: async (url, options) => {
      const res = await guardedFetch(env, url, {
        headers: options.headers,
        method: options.method,
        signal: options.signal,
        timeoutMs: ISSUER_TIMEOUT_MS,
      });
      return new Response(await readCapped(res, MAX_ISSUER_DOCUMENT_BYTES), {
        status: res.status,
        headers: res.headers,
      });
    },
  });
  if (issuerKeys.size >= 100) issuerKeys.delete(issuerKeys.keys().next().value!);
  issuerKeys.set(issuer, { keys, until: now + DISCOVERY_TTL_MS });
  return keys;
}

/** What an exchange proved: the robot's one-hour token, and the identity that obtained it. */
interface Exchanged {
  token: string;
  robot: Robot;
  issuer: string;
  subject: string;
}

/** Exchanges an external OIDC token for a one-hour token of robot `name`, or throws {@link FederationRefused}. */
export async function exchangeFederatedToken(
  db: Db,
  env: FederationEnv,
  name: string,
  oidcToken: string,
  now = clock.now(),
): Promise<Exchanged> {
  const robot = await robotByName(db, name);
  if (!robot) throw new FederationRefused("Could not find robot with specified username");
  const entries = await listFederation(db, robot);
  if (entries.length === 0) throw new FederationRefused("Robot has no federation configured");
  let claimed: string | undefined;
  try {
    claimed = decodeJwt(oidcToken).iss;
  } catch {
    throw new FederationRefused("The token is not a JWT");
  }
  const issuer = claimed ? canonicalIssuer(claimed) : undefined;
  const matching = entries.filter((e) => canonicalIssuer(e.issuer) === issuer);
  if (!issuer || matching.length === 0)
    throw new FederationRefused("The token's issuer is not configured for this robot");
  let subject: string | undefined;
  try {
    const { payload } = await jwtVerify(oidcToken, await keysOf(env, issuer, now), {
      issuer: claimed,
      currentDate: new Date(now),
      clockTolerance: 30,
    });
    subject = payload.sub;
  } catch (err) {
    console.warn(`robot federation: a token of ${issuer} for ${name} was not verified: ${(err as Error).message}`);
    throw new FederationRefused(NOT_VERIFIED);
  }
  if (!subject || !matching.some((e) => e.subject === subject))
    throw new FederationRefused("The token's subject is not configured for this robot");
  const keys = await signingKeys(env);
  const seconds = Math.floor(now / 1000);
  const token = await new SignJWT({ federated: { issuer, subject } })
    .setProtectedHeader({ alg: "ES256", typ: "JWT", kid: keys.kid })
    .setIssuer(TOKEN_ISSUER)
    .setSubject(robot.user.username)
    .setAudience(FEDERATED_AUDIENCE)
    .setIssuedAt(seconds)
    .setExpirationTime(seconds + FEDERATED_TOKEN_TTL_SECONDS)
    .setJti(crypto.randomUUID())
    .sign(keys.privateKey);
  return { token, robot, issuer, subject };
}

/**
 * {@link exchangeFederatedToken} within the login limits (per client address: the OIDC token is
 * the credential): the robot token, or why the exchange was refused. Throws LoginThrottled while
 * the address must wait, before any issuer is asked for its keys. An exchange is recorded as
 * Quay's `federated_robot_token_exchange` (the robot acting), a refusal as a `login_failure`.
 */
export async function exchangeWithinLimits(
  db: Db,
  env: { WHARF_TOKEN_KEY?: string },
  guard: LoginGuard,
  name: string,
  oidcToken: string,
  audit: LoginAudit,
): Promise<{ token: string } | { refused: string }> {
  let refused = "The token could not be verified";
  const exchanged = await guard.attempt({ account: null, credential: `${name}\u0000${oidcToken}` }, async () => {
    try {
      return await exchangeFederatedToken(db, env, name, oidcToken);
    } catch (err) {
      if (!(err instanceof FederationRefused)) throw err;
      refused = err.message;
      return null;
    }
  });
  if (exchanged === null) {
    await commitLogin(db, audit, { username: name, proven: null, presented: "oidc" });
    return { refused };
  }
  const { robot, issuer, subject } = exchanged;
  const origin = { actor: accountRef(robot.user), ip: audit.events.origin.ip };
  const event = namespaceEvent("federated_robot_token_exchange", robotNamespace(robot), origin, {
    robot: robotRef(robot),
    issuer,
    subject,
  });
  await commitWithEvents(db, audit.events, [], [event]);
  return { token: exchanged.token };
}

/** The robot a federated token was issued to, if the token is valid now and the robot still exists. */
export async function verifyFederatedRobotToken(
  db: Db,
  env: TokenKeyEnv,
  name: string,
  token: string,
  now = clock.now(),
): Promise<User | null> {
  if (token.split(".").length !== 3) return null;
  const keys = await tokenVerificationKeys(env);
  try {
    await jwtVerify(token, keys, {
      algorithms: ["ES256"],
      issuer: TOKEN_ISSUER,
      audience: FEDERATED_AUDIENCE,
      subject: name,
      currentDate: new Date(now),
    });
  } catch {
    return null;
  }
  return (await robotByName(db, name))?.user ?? null;
}
