/**
 * `POST /oauth/access_token` (Quay endpoints/web.py `exchange_code_for_token`, oauth2lib's
 * `get_token`): an application's server exchanges the one-time code `GET /oauth/authorize` or
 * `POST /oauth/authorizeapp` sent it for an access token, proving itself with its client id and
 * secret (form fields, or HTTP Basic, which wins as in Quay). Answers and refusals are RFC 6749's
 * JSON (§5.1, §5.2), never cached: `{"access_token", "token_type": "Bearer", "expires_in", "scope"}`,
 * or `{"error", "error_description"}` with 400 (401 and a challenge for a client that
 * authenticated with Basic, §5.2).
 */
import { Hono, type Context } from "hono";
import { allowedRedirectUri, findApplicationByClientId } from "../identity/oauth-applications";
import { clientSecretMatches, exchangeAuthorizationCode } from "../identity/oauth-codes";
import { parseBasic } from "../identity/credentials";
import { readBounded } from "../lib/http";
import { requestEvents } from "../middleware/event-scope";
import type { AppEnv } from "./app-env";
import { localHandlerOf, MAX_FORM_BYTES, TOKEN_LIFETIME_S } from "./oauth-http";

export const oauthTokenRoutes = new Hono<AppEnv>();

const NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" };

type TokenError = "invalid_request" | "invalid_client" | "invalid_grant" | "unsupported_grant_type" | "invalid_scope";

function refuse(error: TokenError, description: string, status = 400, headers: Record<string, string> = {}) {
  return new Response(JSON.stringify({ error, error_description: description }), {
    status,
    headers: { ...NO_STORE, ...headers, "Content-Type": "application/json" },
  });
}

class BodyTooLarge extends Error {}

/** The body's parameters; RFC 6749 §3.2: sent as application/x-www-form-urlencoded. */
async function readParameters(c: Context<AppEnv>): Promise<URLSearchParams | Response> {
  if (!/^application\/x-www-form-urlencoded\b/i.test(c.req.header("Content-Type") ?? "")) {
    return refuse("invalid_request", "Content-Type must be application/x-www-form-urlencoded");
  }
  try {
    const bytes = await readBounded(c.req.raw, MAX_FORM_BYTES, () => new BodyTooLarge());
    return new URLSearchParams(new TextDecoder().decode(bytes));
  } catch (err) {
    if (err instanceof BodyTooLarge) return refuse("invalid_request", "Request body too large", 413);
    throw err;
  }
}

const PARAMETERS = ["grant_type", "code", "redirect_uri", "client_id", "client_secret", "scope"] as const;

oauthTokenRoutes.post("/access_token", async (c) => {
  const params = await readParameters(c);
  if (params instanceof Response) return params;
  // RFC 6749 §3.2: "Request and response parameters MUST NOT be included more than once."
  const repeated = PARAMETERS.find((name) => params.getAll(name).length > 1);
  if (repeated) return refuse("invalid_request", `${repeated} is given more than once`);
  // §3.2 too: a parameter sent without a value is treated as omitted.
  const get = (name: (typeof PARAMETERS)[number]) => params.get(name) || undefined;

  const grantType = get("grant_type");
  if (!grantType) return refuse("invalid_request", "grant_type is required");
  if (grantType !== "authorization_code") {
    return refuse("unsupported_grant_type", "Only the authorization_code grant is supported");
  }

  // Quay: "Sometimes OAuth2 clients place the client id/secret in the Auth header"; they win.
  const header = c.req.header("Authorization");
  const viaBasic = !!header && /^Basic\b/i.test(header);
  const basic = viaBasic ? parseBasic(header) : null;
  const badClient = (description: string) =>
    viaBasic
      ? refuse("invalid_client", description, 401, { "WWW-Authenticate": 'Basic realm="wharf"' })
      : refuse("invalid_client", description);
  if (viaBasic && !basic) return badClient("Malformed Basic credentials");
  const clientId = basic?.username || get("client_id");
  const clientSecret = basic?.password || get("client_secret");
  if (!clientId || !clientSecret) return badClient("client_id and client_secret are required");
  const app = await findApplicationByClientId(c.var.db, clientId);
  if (!app || !(await clientSecretMatches(c.env, app, clientSecret))) {
    return badClient("Unknown client or wrong client secret");
  }

  const code = get("code");
  if (!code) return refuse("invalid_request", "code is required");
  const requested = get("redirect_uri");
  if (!requested) return refuse("invalid_request", "redirect_uri is required");
  const exchanged = await exchangeAuthorizationCode(
    c.var.db,
    app,
    {
      code,
      redirectUri: allowedRedirectUri(app, requested, localHandlerOf(c)),
      scope: get("scope"),
      lifetimeMs: TOKEN_LIFETIME_S * 1000,
    },
    (user) => requestEvents(c, { kind: "user", name: user.username, id: user.id }),
  );
  if ("error" in exchanged) return refuse(exchanged.error, exchanged.description);
  return c.json(
    {
      access_token: exchanged.token,
      token_type: "Bearer",
      expires_in: TOKEN_LIFETIME_S,
      scope: exchanged.scopes.join(" "),
    },
    200,
    NO_STORE,
  );
});
