/**
 * Basic credentials as Quay accepts them at the Docker token endpoint (and `podman login`):
 * - `<username>:<password>`, the password or the `encrypted_password` Quay hands out;
 * - `$oauthtoken:<OAuth access token>`;
 * - `$app:<application token>` (or `<username>:<application token>`);
 * - `<namespace>+<robot>:<robot token>`, or the one-hour token of a federated robot.
 * Disabled users (and robots of disabled namespaces) match nothing.
 */
import type { Db } from "../db/client";
import type { User } from "../db/schema";
import { base64, sha256Hex } from "../lib/encoding";
import { DUMMY_PASSWORD_HASH, verifyPassword } from "./passwords";
import type { LoginGuard, LoginThrottled } from "./login-limits";
import { type Authenticated, commitLogin, type LoginAudit, type Proven } from "./logins";
import { subjectUser } from "./permissions";
import { verifyRegistryToken } from "./registry-tokens";
import { verifyFederatedRobotToken } from "./robot-federation";
import { authenticateRobot, parseRobotName } from "./robots";
import { grants } from "./scopes";
import { decryptSecret } from "./secrets";
import { resolveToken, TOKEN_LENGTH, tokenUse, type TokenHolder } from "./tokens";
import { findUser } from "./users";
import { clock } from "../lib/clock";

export interface BasicCredentials {
  username: string;
  password: string;
}

/** RFC 7617: `Basic base64(user-id ":" password)`; null when the header is absent or not Basic. */
export function parseBasic(header: string | undefined | null): BasicCredentials | null {
  const encoded = header?.match(/^Basic\s+(\S+)\s*$/i)?.[1];
  const bytes = encoded ? base64.decode(encoded) : null;
  if (!bytes) return null;
  const decoded = new TextDecoder().decode(bytes);
  const colon = decoded.indexOf(":");
  if (colon < 0) return null;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

type SecretEnv = { WHARF_SECRET_KEY?: string; WHARF_TOKEN_KEY?: string };

/**
 * The user the credentials prove, or null; the login recorded as `audit` says (./logins.ts): its
 * event and the credential's use, in one batch. A token also brings its scopes, which cap what
 * the login may do (Quay: an OAuth token's registry access is its user's, within its scopes).
 * Checked within the login limits of `guard`: throws {@link LoginThrottled} while the account or
 * the client's address must wait (and records nothing: nothing was checked).
 */
export async function authenticateBasic(
  db: Db,
  env: SecretEnv,
  credentials: BasicCredentials,
  guard: LoginGuard,
  audit: LoginAudit,
): Promise<Authenticated | null> {
  const proven = await proveBasic(db, env, credentials, guard);
  return commitLogin(db, audit, { username: credentials.username, proven });
}

/**
 * What the credentials prove, within the login limits of `guard`, with the write recording the
 * credential's use left to the caller's batch ({@link authenticateBasic}, ./sign-in.ts). People's
 * accounts count by the name given; tokens (`$app`, `$oauthtoken`, robots) only per address
 * (./login-limits.ts says why).
 */
export async function proveBasic(
  db: Db,
  env: SecretEnv,
  credentials: BasicCredentials,
  guard: LoginGuard,
): Promise<Proven | null> {
  const { username } = credentials;
  const account = username === "$oauthtoken" || username === "$app" || parseRobotName(username) ? null : username;
  return guard.attempt({ account, credential: `${username}\u0000${credentials.password}` }, () =>
    checkBasic(db, env, credentials),
  );
}

async function checkBasic(db: Db, env: SecretEnv, credentials: BasicCredentials): Promise<Proven | null> {
  const { username, password } = credentials;
  if (username === "$oauthtoken" || username === "$app") {
    const holder = await resolveToken(db, password);
    const kind = username === "$oauthtoken" ? "oauth" : "app";
    if (!holder || holder.kind !== kind) return null;
    return { user: holder.user, via: kind, scopes: holder.scopes, lastUse: lastUse(db, holder) };
  }
  if (parseRobotName(username)) {
    const robot = await authenticateRobot(db, username, password);
    if (robot) return { user: robot.user, via: "robot", lastUse: robot.lastUse };
    const federated = await verifyFederatedRobotToken(db, env, username, password);
    return federated ? { user: federated, via: "federated-robot", lastUse: null } : null;
  }
  // Every name takes the same path, PBKDF2 included: a known user, an unknown name, a disabled
  // user or an organization cost the same, so answer times do not tell which names exist.
  const found = await findUser(db, username);
  const user = found && found.kind === "user" && found.enabled ? found : null;
  if (await passwordMatches(user, password)) return { user: user!, via: "password", lastUse: null };
  if (password.length === TOKEN_LENGTH) {
    const holder = await resolveToken(db, password);
    if (user && holder && holder.kind === "app" && holder.user.id === user.id) {
      return { user, via: "app", scopes: holder.scopes, lastUse: lastUse(db, holder) };
    }
  }
  // Quay's encrypted_password: AES-GCM of the password; it must still be the current password.
  // Only Wharf's key seals one, so a forged value fails to open before any PBKDF2. It is told
  // apart from the password: as in Quay it is no sign-in (./sign-in.ts), nor, in Wharf, an approval.
  const decrypted = password.length > TOKEN_LENGTH ? await decryptSecret(env, password) : null;
  if (decrypted !== null && (await passwordMatches(user, decrypted)))
    return { user: user!, via: "encrypted-password", lastUse: null };
  return null;
}

/**
 * The enabled user named `username` whose password `password` is (the password itself: no token,
 * no `encrypted_password`), or null; checked within the login limits of `guard`, counted against
 * that account. Quay's `confirm_existing_user`/`verify_and_link_user`, for the account operations
 * that ask for a password again (`verifyUser`, `generateUserClientKey`, `convertUserToOrganization`).
 */
export async function confirmPassword(
  db: Db,
  username: string,
  password: string,
  guard: LoginGuard,
): Promise<User | null> {
  return guard.attempt({ account: username, credential: `${username}\u0000${password}` }, async () => {
    const found = await findUser(db, username);
    const user = found && found.kind === "user" && found.enabled ? found : null;
    return (await passwordMatches(user, password)) ? user : null;
  });
}

/**
 * Who an `Authorization` header names, for endpoints that, like Quay's v1 index (`process_auth`),
 * take any credential a registry client holds: Basic credentials of every kind above, or a bearer
 * token, either a registry token this registry minted for `audience` (docker sends one when it
 * logged in with an identity token) or an OAuth token; robots not while ROBOTS_DISALLOW. `user` is undefined for an anonymous caller,
 * and for a token without repo:read, which sees what anyone sees (as at /v2/auth). `refused`: the
 * header names no one (Quay answers 401 rather than fall back to anonymous).
 */
export async function identifyCaller(
  db: Db,
  env: { WHARF_SECRET_KEY?: string; WHARF_TOKEN_KEY?: string },
  header: string | undefined,
  options: { audience: string; robotsDisallowed: boolean; guard: LoginGuard; audit: LoginAudit },
): Promise<{ refused: true } | { refused: false; user: User | undefined }> {
  if (!header) return { refused: false, user: undefined };
  const bearer = header.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) {
    const claims = await verifyRegistryToken(env, bearer, options.audience);
    if (claims) return { refused: false, user: await subjectUser(db, claims.subject) };
    const holder = await resolveToken(db, bearer);
    if (holder?.kind !== "oauth") return { refused: true };
    return { refused: false, user: grants(holder.scopes, "repo:read") ? holder.user : undefined };
  }
  const credentials = parseBasic(header);
  if (credentials && options.robotsDisallowed && parseRobotName(credentials.username)) return { refused: true };
  const who = credentials ? await authenticateBasic(db, env, credentials, options.guard, options.audit) : null;
  if (!who) return { refused: true };
  return { refused: false, user: !who.scopes || grants(who.scopes, "repo:read") ? who.user : undefined };
}

/** Application tokens show when they were last used (Quay's `last_accessed`): the statement recording it. */
function lastUse(db: Db, holder: TokenHolder) {
  return holder.kind === "app" ? tokenUse(db, holder.tokenId) : null;
}

/**
 * Clients ask the token endpoint once per repository (a push of 100 images to 100 repositories is
 * 100 logins), and each PBKDF2 check costs ~100,000 HMACs. A match is remembered in the isolate
 * for a few minutes, keyed by a SHA-256 of the credentials and bound to the stored hash it matched:
 * a changed password changes that hash, so the old password stops working at once.
 */
const recentMatches = new Map<string, { passwordHash: string; until: number }>();
const RECENT_MS = 5 * 60_000;
const RECENT_MAX = 1_000;

async function passwordMatches(user: User | null, password: string): Promise<boolean> {
  if (!user?.passwordHash) {
    // No account to check against: the same PBKDF2 on a stand-in hash, so this costs what a
    // wrong password costs.
    await verifyPassword(password, DUMMY_PASSWORD_HASH);
    return false;
  }
  const key = await sha256Hex(`${user.id}\u0000${user.username}\u0000${password}`);
  const known = recentMatches.get(key);
  if (known && known.until > clock.now() && known.passwordHash === user.passwordHash) return true;
  if (!(await verifyPassword(password, user.passwordHash))) return false;
  if (recentMatches.size >= RECENT_MAX) recentMatches.delete(recentMatches.keys().next().value!);
  recentMatches.set(key, { passwordHash: user.passwordHash, until: clock.now() + RECENT_MS });
  return true;
}
