/**
 * Fuzzing the Worker's other surfaces (src/routes/surfaces.ts): the origin connectors' protocol,
 * build trigger webhooks, Clair's notifier webhook, build file drops, exported-log links, docker's
 * v1 search, OAuth's endpoints and health, with any credential, content type and body. Each answer
 * is a success, a redirect, or a 4xx in its surface's shape (plain JSON; Quay's error JSON or an
 * HTML page for the OAuth screens), never a 500 or a hang.
 */
import fc from "fast-check";
import { describe, it } from "vitest";
import { fuzzRequest, runs, type Surface, timeFor } from "./fuzz";
import { digestLike } from "./inputs";

// No dot segments (`..`, `%2e%2e`): the URL parser resolves them, and `/filedrop/..` is `/`, the UI's path.
const segment = fc.oneof(
  fc.uuid(),
  fc.constantFrom("x", "%00", "%FF", "a".repeat(300), "wharfc_x", "00000000-0000-0000-0000-000000000000"),
  digestLike,
);

/** [surfaces its refusals may take, method, path template with `*` for a fuzzed segment]. */
const ROUTES: readonly (readonly [readonly Surface[], string, string])[] = [
  [["plain"], "POST", "/connector/v1/hello"],
  [["plain"], "POST", "/connector/v1/lease"],
  [["plain"], "POST", "/connector/v1/jobs/*/heartbeat"],
  [["plain"], "POST", "/connector/v1/jobs/*/complete"],
  [["plain"], "POST", "/connector/v1/jobs/*/fail"],
  [["plain"], "GET", "/connector/v1/jobs/*/source"],
  [["plain"], "GET", "/connector/v1/layers/*"],
  [["plain"], "POST", "/webhooks/push/trigger/*"],
  [["plain"], "POST", "/webhooks/push/fuzz/app/trigger/*"],
  [["plain"], "POST", "/secscan/notification"],
  [["plain"], "PUT", "/filedrop/*"],
  [["plain"], "GET", "/filedrop/*"],
  [["plain"], "GET", "/exportedlogs/*"],
  [["plain"], "GET", "/v1/search?q=*"],
  [["plain"], "GET", "/v1/_ping"],
  [["plain"], "GET", "/oauth2/federation/robot/token"],
  [["plain"], "GET", "/health/*"],
  [["api", "page"], "GET", "/oauth/authorize?client_id=*&redirect_uri=*&scope=repo:read&response_type=token"],
  [["api", "page"], "POST", "/oauth/authorizeapp"],
  [["api", "page"], "POST", "/oauth/denyapp"],
  [["api", "plain"], "POST", "/oauth/access_token"],
];

const headerText = fc.string({ maxLength: 80 }).map((s) => s.replace(/[^\x20-\x7e]/g, "x"));

const body = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
  fc.constantFrom("", "{", "null", '{"notification_id":"../../x","callback":"http://127.0.0.1/"}', "a=1&b=2"),
  fc.constantFrom('{"kinds":["build","scan","x"],"wait_seconds":1e308}', '{"error":"x".repeat}', "{}".repeat(2000)),
  headerText,
);

describe("fuzzing the other surfaces", () => {
  it(
    "connector, webhooks, scanner, file drops, log links, v1, OAuth and health: never a 500",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...ROUTES),
          segment,
          fc.option(
            fc.oneof(
              headerText.map((t) => `Bearer ${t}`),
              headerText.map((t) => `Basic ${btoa(`$token:${t}`)}`),
              headerText,
            ),
          ),
          fc.constantFrom(
            "application/json",
            "application/x-www-form-urlencoded",
            "text/plain",
            "application/octet-stream",
          ),
          body,
          async ([surfaces, method, template], value, authorization, contentType, payload) => {
            const path = template.replaceAll("*", value);
            const headers: Record<string, string> = { "Content-Type": contentType };
            if (authorization !== null) headers.Authorization = authorization;
            await fuzzRequest(surfaces, method, path, {
              token: null,
              headers,
              body: method === "GET" ? undefined : payload,
              redirect: "manual",
            });
          },
        ),
        runs(400),
      );
    },
    timeFor(400),
  );
});
