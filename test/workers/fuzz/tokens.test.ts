/**
 * Fuzzing credentials: Authorization headers (Bearer and Basic garbage, JWT-shaped garbage, real
 * registry tokens tampered with) and session cookies, on /v2, its token service and /api/v1. No
 * credential string yields a 500 or a grant: the answer is the surface's refusal (or, where
 * anonymous access is allowed, the anonymous answer), never the private repository's content.
 */
import fc from "fast-check";
import { beforeAll, describe, it } from "vitest";
import { initializeAdmin } from "../helpers/api";
import { registryToken, pushImage } from "../helpers/registry";
import { fuzzRequest, runs, type Surface, timeFor } from "./fuzz";

const REPO = "fuzz/tokens";
let realToken: string;

beforeAll(async () => {
  await initializeAdmin();
  await pushImage(REPO, "latest");
  realToken = await registryToken([{ type: "repository", name: REPO, actions: ["pull"] }], "fuzz");
});

const base64url = (text: string) =>
  btoa(String.fromCharCode(...new TextEncoder().encode(text)))
    .replaceAll("+", "-")
    .replaceAll("/", "_")
    .replace(/=+$/, "");

/** Printable ASCII, what a header value can carry (fetch refuses CR, LF and NUL). */
const headerText = fc.string({ maxLength: 120 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x"));

const jsonValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), fc.constantFrom(1e308, -1, "none", "ES256", "HS256", null));

/** JWT-shaped garbage: a header and payload of hostile claims, and any signature. */
const jwtLike = fc
  .tuple(
    fc.record(
      {
        alg: fc.oneof(fc.constantFrom("none", "ES256", "HS256", "RS256", "ES512", ""), jsonValue),
        kid: jsonValue,
        typ: jsonValue,
      },
      { requiredKeys: [] },
    ),
    fc.record(
      {
        iss: fc.oneof(fc.constant("wharf"), jsonValue),
        aud: fc.oneof(fc.constant("registry.test"), jsonValue),
        exp: fc.oneof(fc.constant(9_999_999_999), jsonValue),
        nbf: jsonValue,
        sub: jsonValue,
        access: fc.oneof(
          fc.constant([{ type: "repository", name: REPO, actions: ["pull", "push", "delete", "*"] }]),
          jsonValue,
        ),
        context: fc.oneof(fc.constant({ kind: "user", name: "admin", id: 1 }), jsonValue),
      },
      { requiredKeys: [] },
    ),
    fc.oneof(
      fc.constant(""),
      fc.base64String({ maxLength: 90 }).map((s) => s.replaceAll("=", "")),
    ),
  )
  .map(
    ([header, payload, signature]) =>
      `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}.${signature}`,
  );

/** A real registry token with one character changed, a part dropped, or its signature swapped. */
const tamperedToken = fc
  .tuple(fc.nat(), fc.constantFrom("flip", "drop-signature", "swap-alg", "double"))
  .map(([at, how]) => {
    const [h, p] = realToken.split(".") as [string, string, string];
    if (how === "drop-signature") return `${h}.${p}.`;
    if (how === "swap-alg") return `${base64url(JSON.stringify({ alg: "none", typ: "JWT" }))}.${p}.`;
    if (how === "double") return `${realToken}.${realToken}`;
    const i = at % realToken.length;
    const c = realToken[i] === "A" ? "B" : "A";
    return realToken.slice(0, i) + c + realToken.slice(i + 1);
  });

const authorization = fc.oneof(
  fc
    .tuple(
      fc.constantFrom("Bearer ", "bearer ", "Bearer  ", "Bearer", "Token ", ""),
      fc.oneof(jwtLike, tamperedToken, headerText),
    )
    .map(([scheme, value]) => scheme + value),
  fc.tuple(headerText, headerText).map(([user, password]) => `Basic ${btoa(`${user}:${password}`)}`),
  fc.constantFrom("Basic", "Basic ", "Basic ====", "Basic %%%", `Basic ${btoa("no-colon")}`, `Basic ${btoa(":")}`),
  headerText.map((s) => `Basic ${s}`),
  headerText,
);

/** Where a credential is presented, and whether an anonymous caller is answered 200 there. */
const TARGETS: readonly (readonly [Surface, string, string])[] = [
  ["registry", "GET", "/v2/"],
  ["registry", "GET", `/v2/${REPO}/manifests/latest`],
  ["registry", "GET", `/v2/${REPO}/tags/list`],
  ["registry", "POST", `/v2/${REPO}/blobs/uploads/`],
  ["registry", "GET", `/v2/auth?scope=repository:${REPO}:pull,push&service=registry.test`],
  ["api", "GET", "/api/v1/user/"],
  ["api", "GET", `/api/v1/repository/${REPO}`],
  ["api", "POST", "/api/v1/repository"],
  ["api", "GET", "/api/v1/superuser/users/"],
];

describe("fuzzing credentials", () => {
  it(
    "any Authorization header answers a refusal in the surface's shape, never a 500 or the private repository",
    async () => {
      await fc.assert(
        fc.asyncProperty(authorization, fc.constantFrom(...TARGETS), async (value, [surface, method, path]) => {
          const res = await fuzzRequest(surface, method, path, {
            token: null,
            headers: { Authorization: value, "Content-Type": "application/json" },
            body:
              method === "POST" && surface === "api"
                ? JSON.stringify({ namespace: "fuzz", repository: "x", visibility: "public", description: "" })
                : undefined,
          });
          // The private repository is the namespace owner's: no forged credential reads or changes it.
          const reached = path.includes(REPO) || path.startsWith("/api/v1/superuser") || method === "POST";
          if (reached && res.status < 300 && !path.startsWith("/v2/auth"))
            throw new Error(`${value.slice(0, 80)} was granted ${method} ${path}: ${res.status}`);
          if (path.startsWith("/v2/auth") && res.status === 200) {
            const granted = JSON.stringify(
              JSON.parse(atob((res.json.token as string).split(".")[1]!.replaceAll("-", "+").replaceAll("_", "/")))
                .access,
            );
            if (granted.includes("pull") || granted.includes("push"))
              throw new Error(`${value.slice(0, 80)} was granted ${granted} by /v2/auth`);
          }
        }),
        runs(500),
      );
    },
    timeFor(500),
  );

  it(
    "any session cookie answers as anonymous or a refusal, never a 500",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            headerText,
            headerText.map((v) => `wharf_session=${v}`),
            headerText.map((v) => `wharf_oidc_state=${v}`),
            fc.base64String().map((v) => `wharf_session=${v}`),
          ),
          fc.constantFrom<[Surface, string, string]>(
            ["api", "GET", "/api/v1/user/"],
            ["api", "POST", "/api/v1/user/starred"],
            ["api", "GET", "/csrf_token"],
            ["page", "GET", "/oauth2/github/callback?code=x&state=y"],
          ),
          async (cookie, [surface, method, path]) => {
            const res = await fuzzRequest(surface, method, path, {
              headers: { Cookie: cookie, "X-CSRF-Token": "x", "Content-Type": "application/json" },
              body: method === "POST" ? JSON.stringify({ namespace: "fuzz", repository: "tokens" }) : undefined,
            });
            if (surface === "api" && path !== "/csrf_token" && res.status < 300)
              throw new Error(`cookie ${cookie} was signed in`);
          },
        ),
        runs(300),
      );
    },
    timeFor(300),
  );
});
