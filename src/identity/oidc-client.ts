/**
 * The relying party's side of OpenID Connect's authorization code flow (Quay `oauth/oidc.py`):
 * the provider's discovery document, the authorization URL (with `state`, `nonce` and PKCE S256,
 * RFC 7636, beyond Quay), the code exchange at the token endpoint, and the ID token verified
 * against the provider's keys: signature, `iss` (the discovered issuer), `aud` (our client id;
 * `azp` too when there are several audiences), `exp` with 30 s of skew as Quay, and `nonce`.
 * Every request goes through the outbound guard. Failures are {@link OidcRefused} with words for
 * the person signing in; what went wrong in detail goes to the server's log.
 */
import { createRemoteJWKSet, customFetch, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { clock } from "../lib/clock";
import { base64url } from "../lib/encoding";
import type { OidcProvider } from "../lib/oidc-providers";
import { guardedFetch, readCapped } from "../lib/outbound";

export class OidcRefused extends Error {}

type OutboundEnv = { ALLOW_PRIVATE_OUTBOUND?: unknown };

interface Discovery {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  keys: JWTVerifyGetKey;
}

const TIMEOUT_MS = 5_000;
const DISCOVERY_TTL_MS = 10 * 60_000;
/** Discovery documents, key sets and token answers are a few KiB. */
const MAX_DOCUMENT_BYTES = 256 * 1024;
const discovered = new Map<string, { discovery: Discovery; until: number }>();

async function fetchJson(env: OutboundEnv, url: string, init: { method?: string; body?: string } = {}) {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (init.body !== undefined) headers["Content-Type"] = "application/x-www-form-urlencoded";
  const res = await guardedFetch(env, url, { ...init, headers, timeoutMs: TIMEOUT_MS });
  const bytes = await readCapped(res, MAX_DOCUMENT_BYTES);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new Error(`${url} answered ${res.status} without JSON`);
  }
  return { status: res.status, json: (json ?? {}) as Record<string, unknown> };
}

const httpUrl = (value: unknown): value is string =>
  typeof value === "string" && URL.canParse(value) && /^https?:$/.test(new URL(value).protocol);

/** The provider's endpoints and keys, from `<issuer>/.well-known/openid-configuration`, kept ten minutes. */
export async function discover(env: OutboundEnv, provider: OidcProvider, now = clock.now()): Promise<Discovery> {
  const known = discovered.get(provider.issuer);
  if (known && known.until > now) return known.discovery;
  let doc: Record<string, unknown>;
  try {
    const answer = await fetchJson(env, `${provider.issuer}/.well-known/openid-configuration`);
    if (answer.status !== 200) throw new Error(`discovery answered ${answer.status}`);
    doc = answer.json;
    // OpenID Connect Discovery §4.3: the document's issuer is the one asked for.
    if (typeof doc.issuer !== "string" || doc.issuer.replace(/\/+$/, "") !== provider.issuer)
      throw new Error(`the discovery document names issuer ${String(doc.issuer)}`);
    if (!httpUrl(doc.authorization_endpoint) || !httpUrl(doc.token_endpoint) || !httpUrl(doc.jwks_uri))
      throw new Error("the discovery document lacks an endpoint");
  } catch (err) {
    console.warn(`oidc ${provider.id}: discovery failed: ${(err as Error).message}`);
    throw new OidcRefused(`Could not load the OpenID configuration of ${provider.title}`);
  }
  const keys = createRemoteJWKSet(new URL(doc.jwks_uri as string), {
    timeoutDuration: TIMEOUT_MS,
    [customFetch]: async (url, options) => {
      const res = await guardedFetch(env, url, {
        headers: options.headers,
        signal: options.signal,
        timeoutMs: TIMEOUT_MS,
      });
      return new Response(await readCapped(res, MAX_DOCUMENT_BYTES), { status: res.status, headers: res.headers });
    },
  });
  const discovery = {
    issuer: doc.issuer as string,
    authorizationEndpoint: doc.authorization_endpoint as string,
    tokenEndpoint: doc.token_endpoint as string,
    keys,
  };
  if (discovered.size >= 50) discovered.delete(discovered.keys().next().value!);
  discovered.set(provider.issuer, { discovery, until: now + DISCOVERY_TTL_MS });
  return discovery;
}

const randomToken = () => base64url.encode(crypto.getRandomValues(new Uint8Array(32)));

/** What the browser must bring back: the `state`, the `nonce` and the PKCE verifier. */
export interface LoginChallenge {
  state: string;
  nonce: string;
  verifier: string;
}

export function newChallenge(): LoginChallenge {
  return { state: randomToken(), nonce: randomToken(), verifier: randomToken() };
}

/** The provider's authorization URL for `challenge`, answering to `redirectUri`. */
export async function authorizationUrl(
  env: OutboundEnv,
  provider: OidcProvider,
  redirectUri: string,
  challenge: LoginChallenge,
): Promise<string> {
  const { authorizationEndpoint } = await discover(env, provider);
  const url = new URL(authorizationEndpoint);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(challenge.verifier));
  const codeChallenge = base64url.encode(new Uint8Array(digest));
  for (const [key, value] of Object.entries({
    response_type: "code",
    client_id: provider.clientId,
    redirect_uri: redirectUri,
    scope: provider.scopes.join(" "),
    state: challenge.state,
    nonce: challenge.nonce,
    code_challenge: codeChallenge,
    code_challenge_method: "S256",
  }))
    url.searchParams.set(key, value);
  return url.href;
}

/** Who the provider says signed in. */
export interface ExternalIdentity {
  subject: string;
  /** The name an account made for the subject starts from. */
  username: string;
  /** Only an address the provider says is verified (Quay's `email_verified`). */
  email: string | null;
}

/** Exchanges `code` and verifies the ID token (see the file's comment), or throws {@link OidcRefused}. */
export async function exchangeCode(
  env: OutboundEnv,
  provider: OidcProvider,
  clientSecret: string | null,
  code: string,
  redirectUri: string,
  challenge: Pick<LoginChallenge, "nonce" | "verifier">,
  now = clock.now(),
): Promise<ExternalIdentity> {
  const discovery = await discover(env, provider, now);
  const form = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    client_id: provider.clientId,
    code_verifier: challenge.verifier,
  });
  // client_secret_post, as Quay sends it.
  if (clientSecret !== null) form.set("client_secret", clientSecret);
  let idToken: string;
  try {
    const answer = await fetchJson(env, discovery.tokenEndpoint, { method: "POST", body: form.toString() });
    if (answer.status !== 200)
      throw new Error(`token endpoint answered ${answer.status}: ${String(answer.json.error)}`);
    if (typeof answer.json.id_token !== "string") throw new Error("no id_token in the token answer");
    idToken = answer.json.id_token;
  } catch (err) {
    console.warn(`oidc ${provider.id}: code exchange failed: ${(err as Error).message}`);
    throw new OidcRefused(`${provider.title} did not accept the sign-in; please try again`);
  }
  let claims: JWTPayload;
  try {
    ({ payload: claims } = await jwtVerify(idToken, discovery.keys, {
      issuer: discovery.issuer,
      audience: provider.clientId,
      currentDate: new Date(now),
      clockTolerance: 30,
      requiredClaims: ["sub", "exp", "iat"],
    }));
  } catch (err) {
    console.warn(`oidc ${provider.id}: ID token refused: ${(err as Error).message}`);
    throw new OidcRefused(`The identity token of ${provider.title} could not be verified`);
  }
  if (claims.nonce !== challenge.nonce)
    throw new OidcRefused(`The identity token of ${provider.title} was not issued for this sign-in`);
  // OpenID Connect Core §3.1.3.7: with several audiences, the authorized party must be us.
  if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp !== provider.clientId)
    throw new OidcRefused(`The identity token of ${provider.title} was issued to another client`);
  if (claims.impersonated === true) throw new OidcRefused("Requests from impersonated principals are not supported");
  const subject = claims.sub!;
  const claimed = claims[provider.usernameClaim] ?? claims.preferred_username ?? claims.upn ?? claims.email;
  const email = claims.email_verified === true && typeof claims.email === "string" ? claims.email.toLowerCase() : null;
  // Quay keeps what precedes an `@` of the claimed name.
  const username = (typeof claimed === "string" && claimed !== "" ? claimed : subject).split("@")[0]!;
  return { subject: subject.slice(0, 1024), username, email: email && email.length <= 255 ? email : null };
}
