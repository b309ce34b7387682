/**
 * A small OpenID Connect provider on loopback for the browser tests of external sign-in: discovery,
 * an authorization endpoint that agrees at once (redirecting the browser back with a code, or with
 * `error=access_denied` while `decline` is set), a token endpoint checking the client secret and
 * the PKCE verifier, and its key set. The person it vouches for is `person`.
 */
import { createHash, randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export interface OidcPerson {
  sub: string;
  preferred_username: string;
  email: string;
}

export class LoopbackOidcProvider {
  issuer = "";
  person: OidcPerson = { sub: "person-1", preferred_username: "oidc.person", email: "oidc.person@example.com" };
  decline = false;
  readonly #codes = new Map<string, { nonce: string; challenge: string; redirectUri: string; person: OidcPerson }>();
  #server: http.Server | null = null;

  constructor(
    readonly clientId: string,
    readonly clientSecret: string,
  ) {}

  async start(): Promise<this> {
    const { privateKey, publicKey } = await generateKeyPair("RS256");
    const jwks = { keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "RS256", use: "sig" }] };
    this.#server = http.createServer(async (req, res) => {
      const url = new URL(req.url ?? "/", this.issuer);
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (url.pathname === "/.well-known/openid-configuration")
        return json(200, {
          issuer: this.issuer,
          authorization_endpoint: `${this.issuer}/auth`,
          token_endpoint: `${this.issuer}/token`,
          jwks_uri: `${this.issuer}/certs`,
        });
      if (url.pathname === "/certs") return json(200, jwks);
      if (url.pathname === "/auth") {
        const back = new URL(url.searchParams.get("redirect_uri")!);
        back.searchParams.set("state", url.searchParams.get("state") ?? "");
        if (this.decline) back.searchParams.set("error", "access_denied");
        else {
          const code = randomUUID();
          this.#codes.set(code, {
            nonce: url.searchParams.get("nonce") ?? "",
            challenge: url.searchParams.get("code_challenge") ?? "",
            redirectUri: back.origin + back.pathname,
            person: { ...this.person },
          });
          back.searchParams.set("code", code);
        }
        res.writeHead(302, { Location: back.href });
        return res.end();
      }
      if (url.pathname === "/token" && req.method === "POST") {
        let text = "";
        for await (const chunk of req) text += chunk;
        const form = new URLSearchParams(text);
        const issued = this.#codes.get(form.get("code") ?? "");
        this.#codes.delete(form.get("code") ?? "");
        const verifier = createHash("sha256")
          .update(form.get("code_verifier") ?? "")
          .digest("base64url");
        if (
          !issued ||
          form.get("client_secret") !== this.clientSecret ||
          form.get("redirect_uri") !== issued.redirectUri ||
          verifier !== issued.challenge
        )
          return json(400, { error: "invalid_grant" });
        const now = Math.floor(Date.now() / 1000);
        const idToken = await new SignJWT({ ...issued.person, email_verified: true, nonce: issued.nonce })
          .setProtectedHeader({ alg: "RS256", kid: "k1" })
          .setIssuer(this.issuer)
          .setAudience(this.clientId)
          .setIssuedAt(now)
          .setExpirationTime(now + 300)
          .sign(privateKey);
        return json(200, { access_token: randomUUID(), token_type: "Bearer", id_token: idToken });
      }
      json(404, { error: "not_found" });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.issuer = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
    return this;
  }

  get port(): number {
    return Number(new URL(this.issuer).port);
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}
