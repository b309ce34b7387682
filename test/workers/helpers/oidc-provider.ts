/**
 * An OpenID Connect provider for the external-login tests, answering the Worker's `fetch` (a spy):
 * its discovery document, key set and token endpoint. A test hands it the claims of the next sign-in
 * (`nextLogin`), follows the authorization URL the registry gave as a browser would (`authorize`:
 * the code the provider would send back), and the token endpoint then answers an ID token with
 * those claims, the request's nonce, and a PKCE check of the code verifier.
 */
import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { vi } from "vitest";

export interface IssuedCode {
  claims: JWTPayload;
  challenge: string;
  redirectUri: string;
  clientId: string;
}

export class FakeOidcProvider {
  readonly codes = new Map<string, IssuedCode>();
  /** Each token request's form, in order. */
  readonly tokenRequests: URLSearchParams[] = [];
  /** Overrides the discovery document's issuer (an impostor). */
  discoveryIssuer: string | null = null;
  #key!: CryptoKey;
  #jwks!: { keys: object[] };

  constructor(readonly issuer: string) {}

  /** Makes the key pair; {@link serveProviders} then answers the Worker's fetch for it. */
  async init(): Promise<this> {
    const pair = await generateKeyPair("RS256");
    this.#key = pair.privateKey;
    this.#jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "main", alg: "RS256", use: "sig" }] };
    return this;
  }

  async answer(request: Request): Promise<Response | null> {
    const url = new URL(request.url);
    if (!request.url.startsWith(`${this.issuer}/`)) return null;
    const path = url.href.slice(this.issuer.length);
    if (path === "/.well-known/openid-configuration")
      return Response.json({
        issuer: this.discoveryIssuer ?? this.issuer,
        authorization_endpoint: `${this.issuer}/auth`,
        token_endpoint: `${this.issuer}/token`,
        jwks_uri: `${this.issuer}/certs`,
      });
    if (path === "/certs") return Response.json(this.#jwks);
    if (path === "/token" && request.method === "POST") return this.token(new URLSearchParams(await request.text()));
    return new Response("not found", { status: 404 });
  }

  /** What the provider's authorization page does for `authUrl` once the person agrees: a code for `claims`. */
  authorize(authUrl: string, claims: JWTPayload): { code: string; state: string; nonce: string } {
    const url = new URL(authUrl);
    const code = crypto.randomUUID();
    const nonce = url.searchParams.get("nonce")!;
    this.codes.set(code, {
      claims: { nonce, ...claims },
      challenge: url.searchParams.get("code_challenge")!,
      redirectUri: url.searchParams.get("redirect_uri")!,
      clientId: url.searchParams.get("client_id")!,
    });
    return { code, state: url.searchParams.get("state")!, nonce };
  }

  async token(form: URLSearchParams): Promise<Response> {
    this.tokenRequests.push(form);
    const issued = this.codes.get(form.get("code") ?? "");
    this.codes.delete(form.get("code") ?? "");
    if (!issued || form.get("redirect_uri") !== issued.redirectUri || form.get("client_id") !== issued.clientId)
      return Response.json({ error: "invalid_grant" }, { status: 400 });
    const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(form.get("code_verifier") ?? ""));
    const challenge = btoa(String.fromCharCode(...new Uint8Array(digest)))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    if (challenge !== issued.challenge) return Response.json({ error: "invalid_grant" }, { status: 400 });
    const now = Math.floor(Date.now() / 1000);
    const idToken = await new SignJWT({ ...issued.claims })
      .setProtectedHeader({ alg: "RS256", kid: "main" })
      .setIssuer((issued.claims.iss as string | undefined) ?? this.issuer)
      .setAudience((issued.claims.aud as string | string[] | undefined) ?? issued.clientId)
      .setIssuedAt(now)
      .setExpirationTime((issued.claims.exp as number | undefined) ?? now + 300)
      .sign(this.#key);
    return Response.json({ access_token: "provider-access-token", token_type: "Bearer", id_token: idToken });
  }
}

/** Answers the Worker's fetches to `providers` (one spy: a second spyOn would replace the first). */
export function serveProviders(...providers: FakeOidcProvider[]): void {
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input as RequestInfo, init);
    for (const provider of providers) {
      const answered = await provider.answer(request.clone());
      if (answered) return answered;
    }
    return realFetch(input, init);
  });
}
