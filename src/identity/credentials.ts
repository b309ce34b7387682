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
import { verifyPassword } from "./passwords";
import { subjectUser } from "./permissions";
import { verifyRegistryToken } from "./registry-tokens";
import { verifyFederatedRobotToken } from "./robot-federation";
import { authenticateRobot, parseRobotName } from "./robots";
import { grants, type Scope } from "./scopes";
import { decryptSecret } from "./secrets";
import { resolveToken, TOKEN_LENGTH, touchToken, type TokenHolder } from "./tokens";
import { findUser } from "./users";

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

export type AuthenticatedVia = "password" | "oauth" | "app" | "robot" | "federated-robot";

/**
 * The user the credentials prove, or null. A token also brings its scopes, which cap what the
 * login may do (Quay: an OAuth token's registry access is its user's, within its scopes).
 */
export async function authenticateBasic(
  db: Db,
  env: { WHARF_SECRET_KEY?: string; WHARF_TOKEN_KEY?: string },
  credentials: BasicCredentials,
): Promise<{ user: User; via: AuthenticatedVia; scopes?: Scope[] } | null> {
  const { username, password } = credentials;
  if (username === "$oauthtoken" || username === "$app") {
    const holder = await resolveToken(db, password);
    const kind = username === "$oauthtoken" ? "oauth" : "app";
    if (!holder || holder.kind !== kind) return null;
    await noteUse(db, holder);
    return { user: holder.user, via: kind, scopes: holder.scopes };
  }
  if (parseRobotName(username)) {
    const robot = await authenticateRobot(db, username, password);
    if (robot) return { user: robot, via: "robot" };
    const federated = await verifyFederatedRobotToken(db, env, username, password);
    return federated ? { user: federated, via: "federated-robot" } : null;
  }
  const user = await findUser(db, username);
  if (!user || user.kind !== "user" || !user.enabled) return null;
  if (await passwordMatches(user, password)) return { user, via: "password" };
  if (password.length === TOKEN_LENGTH) {
    const holder = await resolveToken(db, password);
    if (holder && holder.kind === "app" && holder.user.id === user.id) {
      await noteUse(db, holder);
      return { user, via: "app", scopes: holder.scopes };
    }
  }
  // Quay's encrypted_password: AES-GCM of the password; it must still be the current password.
  const decrypted = password.length > TOKEN_LENGTH ? await decryptSecret(env, password) : null;
  if (decrypted !== null && (await passwordMatches(user, decrypted))) return { user, via: "password" };
  return null;
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
  options: { audience: string; robotsDisallowed: boolean },
): Promise<{ refused: true } | { refused: false; user: User | undefined }> {
  if (!header) return { refused: false, user: undefined };
  const bearer = header.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
  if (bearer) {
    const claims = await verifyRegistryToken(env, bearer, options.audience);
    if (claims) return { refused: false, user: await subjectUser(db, claims.subject) };
    const holder = await resolveToken(db, bearer);
    if (!holder || holder.kind !== "oauth") return { refused: true };
    return { refused: false, user: grants(holder.scopes, "repo:read") ? holder.user : undefined };
  }
  const credentials = parseBasic(header);
  if (credentials && options.robotsDisallowed && parseRobotName(credentials.username)) return { refused: true };
  const who = credentials ? await authenticateBasic(db, env, credentials) : null;
  if (!who) return { refused: true };
  return { refused: false, user: !who.scopes || grants(who.scopes, "repo:read") ? who.user : undefined };
}

/** Application tokens show when they were last used (Quay's `last_accessed`). */
async function noteUse(db: Db, holder: TokenHolder): Promise<void> {
  if (holder.kind === "app") await touchToken(db, holder.tokenId);
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

async function passwordMatches(user: User, password: string): Promise<boolean> {
  if (!user.passwordHash) return false;
  const key = await sha256Hex(`${user.id}\u0000${user.username}\u0000${password}`);
  const known = recentMatches.get(key);
  if (known && known.until > Date.now() && known.passwordHash === user.passwordHash) return true;
  if (!(await verifyPassword(password, user.passwordHash))) return false;
  if (recentMatches.size >= RECENT_MAX) recentMatches.delete(recentMatches.keys().next().value!);
  recentMatches.set(key, { passwordHash: user.passwordHash, until: Date.now() + RECENT_MS });
  return true;
}
