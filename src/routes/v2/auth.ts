/**
 * GET /v2/auth: the Docker token endpoint (distribution "Token Authentication Specification",
 * Quay's `/v2/auth`). Basic credentials (see src/identity/credentials.ts), or none for an
 * anonymous token, are exchanged for a registry token whose access claim holds, for each requested
 * scope, only the actions the caller may take. Wrong credentials are 401; an unparsable scope 400;
 * a login while its account or address must wait 429 TOOMANYREQUESTS (src/identity/login-limits.ts).
 */
import { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { authenticateBasic, parseBasic } from "../../identity/credentials";
import { LoginGuard } from "../../identity/login-limits";
import { clientAddressOf } from "../../lib/client-address";
import { repositoryAccess, userSubject } from "../../identity/permissions";
import { parseRobotName, ROBOTS_DISABLED_MESSAGE } from "../../identity/robots";
import { isReadOnly, readConfig } from "../../config";
import { chargeRequester, type Requester } from "../../fairuse/budgets";
import { fairUseContext } from "../../middleware/fair-use";
import { signRegistryToken, type AccessEntry, type TokenSubject } from "../../identity/registry-tokens";
import { serviceName } from "../../middleware/access";
import { primarySession } from "../../middleware/db-session";
import { requestLogin } from "../../middleware/event-scope";
import { RegistryError } from "./errors";
import { canonicalRepositoryName, nameRules, namespaceOf } from "../../registry/repository-name";
import { predatesCache, proxyCacheFor } from "../../proxy/lookup";
import { findRepository, reservedComponent } from "../../registry/repositories";
import { parseTokenScopes } from "../../registry/token-scopes";
import { mayPushInState } from "../../registry/repository-state";
import { grants, scopesAllowRegistryAction, type Scope } from "../../identity/scopes";
import { BUILD_USERNAME, provenBuild } from "../../builds/build-credential";

export const authRoutes = new Hono<AppEnv>();

const MAX_SCOPES = 100;

authRoutes.get("/auth", async (c) => {
  const scopes = parseTokenScopes(c.req.queries("scope") ?? []);
  if (!scopes)
    throw new RegistryError(
      "UNSUPPORTED",
      { scope: c.req.queries("scope") },
      { status: 400, message: "unable to parse scope" },
    );
  // Clients ask for one or two (a mount's source); the repositories are read in one query.
  if (scopes.length > MAX_SCOPES)
    throw new RegistryError("UNSUPPORTED", { limit: MAX_SCOPES }, { status: 400, message: "too many scopes" });

  const rules = nameRules(c.env);
  const names = scopes.map((s) => (s.type === "repository" ? canonicalRepositoryName(s.name, rules) : null));
  // D1 read replication: everything the token is made of is read from the primary of DB; the token
  // carries the bookmark of the primary of the namespace's core database (DB's own session when
  // the core is there, src/middleware/db-session.ts): a pull-only request with it reads a replica
  // at least this new. A bookmark is one database's: one namespace only.
  const namespaces = new Set(names.filter((name) => name !== null).map(namespaceOf));
  const primary = await primarySession(c.env, namespaces.size === 1 ? [...namespaces][0]! : null);
  const db = primary.db;

  let subject: TokenSubject = { kind: "anonymous" };
  let tokenScopes: Scope[] | null = null;
  // Fair use: who the request is charged to, as every /v2 request is (src/middleware/fair-use.ts).
  let requester: Requester = { key: `ip:${clientAddressOf(c.req.raw)}`, username: null };
  const header = c.req.header("Authorization");
  const credentials = header ? parseBasic(header) : null;
  if (credentials?.username === BUILD_USERNAME) {
    // A build's credential (src/builds/build-credential.ts): no account, no login recorded; it
    // opens only while its build's lease holds.
    const proven = await provenBuild(db, c.env, credentials.password);
    if (!proven) throw new RegistryError("UNAUTHORIZED", undefined, { message: "invalid username or password" });
    subject = {
      kind: "build",
      name: BUILD_USERNAME,
      build: proven.build,
      attempt: proven.attempt,
      lease: proven.lease,
    };
    requester = { key: `build:${proven.build}`, username: null };
  } else if (header) {
    if (credentials && parseRobotName(credentials.username) && readConfig(c.env).ROBOTS_DISALLOW) {
      throw new RegistryError("UNAUTHORIZED", undefined, { message: ROBOTS_DISABLED_MESSAGE });
    }
    const guard = new LoginGuard(c.env, clientAddressOf(c.req.raw));
    // A login is a token request naming no repository (`docker login`), as Quay's `is_login_event`:
    // the requests of every pull and push are not recorded (docs/events.md, "Logins").
    const audit = requestLogin(c, "v2auth", { recordSuccess: scopes.length === 0 });
    const who = credentials ? await authenticateBasic(db, c.env, credentials, guard, audit) : null;
    if (!who) throw new RegistryError("UNAUTHORIZED", undefined, { message: "invalid username or password" });
    subject = userSubject(who.user);
    requester = { key: `account:${who.user.id}`, username: who.user.username };
    tokenScopes = who.scopes ?? null;
    // A token that may not read repositories sees what anyone sees: _catalog lists by subject.
    if (tokenScopes && !grants(tokenScopes, "repo:read")) subject = { kind: "anonymous" };
  }

  // A token request is a /v2 request of its requester's, charged once its credential is proven
  // (failed ones are the login limits'): otherwise a valid credential could make the Worker prove
  // its password without bound, the costliest thing /v2 does.
  await chargeRequester(fairUseContext(c), requester);

  const readOnly = isReadOnly(c.env);
  const permissions = repositoryAccess(db, subject);
  // Every repository the request names, read in one query before the questions below.
  await permissions.prefetch(names.filter((name) => name !== null));
  const access: AccessEntry[] = [];
  for (const scope of scopes) {
    if (scope.type === "registry") {
      // The catalog lists only what the caller can see, so anyone may hold its scope.
      if (scope.name === "catalog") access.push({ type: "registry", name: "catalog", actions: ["*"] });
      continue;
    }
    // The access entry names the canonical repository (`foo` is `library/foo`), the one /v2
    // checks after parsing its path the same way; a name that cannot exist gets no entry.
    const name = canonicalRepositoryName(scope.name, rules);
    if (name === null) continue;
    let allowed: string[] = await permissions.actions(name);
    // Reserved names (Quay's route words) are never created: no push where the repository does
    // not exist yet (src/registry/repositories.ts).
    if (allowed.includes("push") && reservedComponent(name) && !(await permissions.repository(name))) {
      allowed = allowed.filter((a) => a !== "push");
    }
    // Quay grants no push on a repository that is not NORMAL (READ_ONLY; MIRROR but to its robot).
    const existing = await permissions.repository(name);
    const writerId = subject.kind === "user" ? subject.id : null;
    if (existing && !mayPushInState(existing.state, existing.mirrorRobotId, writerId))
      allowed = allowed.filter((a) => a === "pull");
    // REGISTRY_STATE=readonly: pulls only (src/middleware/read-only.ts refuses the writes themselves).
    if (readOnly) allowed = allowed.filter((a) => a === "pull");
    // A proxy-cache organization is read-through: no push (Quay, PROJQUAY-9516), and its members
    // may pull what it does not hold yet (Quay's `can_pullthru`, endpoints/v2/v2auth.py).
    const cache = await proxyCacheFor(c.env, db, namespaceOf(name));
    if (cache) {
      allowed = allowed.filter((a) => a !== "push");
      // Not into a repository pushed before the organization became a cache (src/proxy/lookup.ts).
      if (
        !allowed.includes("pull") &&
        (await permissions.standing(namespaceOf(name))) &&
        !predatesCache(cache, await findRepository(db, name))
      )
        allowed.push("pull");
    }
    if (tokenScopes && allowed.length > 0) {
      // A token login does what its scopes allow, and never less than anyone may (a public pull).
      const repository = await permissions.repository(name);
      const publicPull = repository?.visibility === "public";
      allowed = allowed.filter(
        (a) => scopesAllowRegistryAction(tokenScopes!, a, repository !== undefined) || (a === "pull" && publicPull),
      );
    }
    const granted = scope.actions.filter((a) => a !== "*" && allowed.includes(a));
    // "*" (distribution: every action) only for those who hold every action.
    if (scope.actions.includes("*") && ["pull", "push", "delete"].every((a) => allowed.includes(a))) granted.push("*");
    access.push({ type: "repository", name, actions: granted });
  }

  const { token, expiresIn, issuedAt } = await signRegistryToken(c.env, serviceName(c), {
    subject,
    access,
    bookmark: await primary.bookmark(),
  });
  // `token` per the spec; `access_token` for OAuth2-style clients (spec: "token" and "access_token").
  return c.json({ token, access_token: token, expires_in: expiresIn, issued_at: issuedAt });
});
