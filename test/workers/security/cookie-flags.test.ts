/**
 * Every cookie Wharf sets, with the flags it must carry: HttpOnly (no script reads a session),
 * SameSite=Lax (no cross-site POST carries it; the OIDC callback is a top-level GET, which Lax
 * allows), Secure on every host but loopback (`npm start` on http://localhost must still sign in),
 * and the narrowest Path that works: `/` for the session, `/oauth2/` for the OIDC login state.
 */
import { env } from "cloudflare:workers";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { createApp } from "../../../src/app";
import { initializeAdmin } from "../helpers/api";
import { FakeOidcProvider, serveProviders } from "../helpers/oidc-provider";
import { personMaker } from "../helpers/signed-in";

const ISSUER = "https://sso.test/realms/main";
const oidcEnv = {
  ...env,
  OIDC_PROVIDERS: JSON.stringify([{ id: "sso", title: "SSO", issuer: ISSUER, client_id: "wharf-ui" }]),
  OIDC_CLIENT_SECRETS: JSON.stringify({ sso: "the-client-secret-1" }),
};
const app = createApp();
const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} } as unknown as ExecutionContext;

/** A call of the Worker at `origin`, from its own client address. */
function call(origin: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const req = new Request(`${origin}${path}`, {
    method,
    headers: {
      "Content-Type": "application/json",
      "CF-Connecting-IP": `198.51.100.${Math.floor(Math.random() * 250) + 1}`,
      ...headers,
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    redirect: "manual",
  });
  return app.fetch(req, oidcEnv as unknown as Env, ctx);
}

/** The attributes of a Set-Cookie line, names lower-cased: `{ httponly: "", samesite: "Lax", … }`. */
function attributesOf(line: string): { name: string; attributes: Record<string, string> } {
  const [pair, ...rest] = line.split(";").map((part) => part.trim());
  const attributes = Object.fromEntries(
    rest.map((part) => {
      const [key, ...value] = part.split("=");
      return [key!.toLowerCase(), value.join("=")];
    }),
  );
  return { name: pair!.split("=")[0]!, attributes };
}

let password: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  ({ password } = await personMaker(admin)("cookies"));
  const idp = await new FakeOidcProvider(ISSUER).init();
  serveProviders(idp);
});

afterAll(() => {
  vi.restoreAllMocks();
});

/** Every Set-Cookie of the calls that set one, at `origin`. */
async function cookiesAt(origin: string): Promise<{ what: string; line: string }[]> {
  const seen: { what: string; line: string }[] = [];
  const record = (what: string, res: Response) => {
    for (const line of res.headers.getSetCookie()) seen.push({ what, line });
  };
  const signin = await call(origin, "POST", "/api/v1/signin", { username: "cookies", password });
  expect(signin.status).toBe(200);
  record("sign-in", signin);
  const session = signin.headers.getSetCookie()[0]!.split(";")[0]!;
  const name = `new${crypto.randomUUID().slice(0, 6)}`;
  record(
    "account creation",
    await call(origin, "POST", "/api/v1/user/", {
      username: name,
      password: "a-good-password-1",
      email: `${name}@example.com`,
    }),
  );
  const csrf = (await (await call(origin, "GET", "/csrf_token", undefined, { Cookie: session })).json()) as {
    csrf_token: string;
  };
  const login = await call(origin, "POST", "/api/v1/externallogin/sso", { kind: "login" });
  expect(login.status).toBe(200);
  record("external login state", login);
  record(
    "sign-out",
    await call(origin, "POST", "/api/v1/signout", undefined, { Cookie: session, "X-CSRF-Token": csrf.csrf_token }),
  );
  return seen;
}

describe("cookie flags", () => {
  it("on a public host: HttpOnly, Secure, SameSite=Lax and the intended Path on every Set-Cookie", async () => {
    const seen = await cookiesAt("https://registry.test");
    expect(seen.map((s) => s.what)).toEqual(["sign-in", "account creation", "external login state", "sign-out"]);
    for (const { what, line } of seen) {
      const { name, attributes } = attributesOf(line);
      expect(attributes, `${what}: ${line}`).toHaveProperty("httponly");
      expect(attributes, `${what}: ${line}`).toHaveProperty("secure");
      expect(attributes.samesite, `${what}: ${line}`).toBe("Lax");
      expect(attributes.path, `${what}: ${line}`).toBe(name === "wharf_oidc_state" ? "/oauth2/" : "/");
      expect(attributes).not.toHaveProperty("domain");
    }
    // Signing out expires the session cookie rather than leaving it to its Max-Age.
    const out = attributesOf(seen.find((s) => s.what === "sign-out")!.line);
    expect(out.name).toBe("wharf_session");
    expect(out.attributes["max-age"]).toBe("0");
  });

  it("on loopback (npm start over plain http): the same flags but Secure, which a browser would refuse there", async () => {
    const seen = await cookiesAt("http://127.0.0.1:8790");
    expect(seen).toHaveLength(4);
    for (const { what, line } of seen) {
      const { attributes } = attributesOf(line);
      expect(attributes, `${what}: ${line}`).toHaveProperty("httponly");
      expect(attributes, `${what}: ${line}`).not.toHaveProperty("secure");
      expect(attributes.samesite, `${what}: ${line}`).toBe("Lax");
    }
  });
});
