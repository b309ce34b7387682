/**
 * The log secret scan (scripts/scan-logs.mjs) that `npm test` runs over the end-to-end run's logs:
 * it finds each kind of secret planted in a log, masks it in its report, and passes clean logs,
 * including the hex digests, UUIDs and commit ids every registry log is full of.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain script of the repository, without types.
import { findSecrets, scanDirectory, testPasswords } from "../../scripts/scan-logs.mjs";
import { ROOT } from "./helpers/server";

type Finding = { line: number; kind: string; secret: string };

const CLEAN = [
  '{"msg":"request","method":"GET","path":"/v2/e2e/app/blobs/sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","status":200}',
  '{"msg":"registry event","id":"123e4567-e89b-12d3-a456-426614174000","kind":"push"}',
  "wharf: registry ready on http://127.0.0.1:40123 (state in /tmp/wharf-e2e-abc)",
  'git commit 0123456789abcdef0123456789abcdef01234567 built; WWW-Authenticate: Basic realm="registry"',
  "Authorization header missing; the password was refused; a secret was not configured",
].join("\n");

const JWT =
  "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJ3aGFyZiIsInN1YiI6ImUyZSJ9.MEUCIQDx3m1C2r8kT7nZ8YV0aQk7v8c9d0e1f2g3h4i5j6k7";

describe("the log secret scan", () => {
  it("passes logs without secrets", () => {
    expect(findSecrets(CLEAN, testPasswords())).toEqual([]);
  });

  it("finds each kind of credential planted in a line", () => {
    const planted = [
      `token issued: ${JWT}`,
      "connector wharfc_Ab3dEfGhIjKlMnOpQrStUvWxYz0123456789AbCd started",
      "robot qro_Zx9yWvUtSrQpOnMlKjIhGfEdCbA876543210 acting",
      "Cookie: wharf_session=Q2hhbmdlZCBzZXNzaW9uIGlk_x-y",
      `Authorization: Basic ${Buffer.from("e2e:s3cret-Passw0rd").toString("base64")}`,
      "Authorization: Bearer AbCdEfGhIjKlMnOpQrStUvWxYz0123456789",
      "app token AbCdEfGhIjKlMnOpQrStUvWxYz0123456789AbCd",
      'login {"user":"sailor","password":"sailor-password-1"}',
    ];
    const found = findSecrets(planted.join("\n"), testPasswords()) as Finding[];
    const lines = new Set(found.map((f) => f.line));
    expect([...lines].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(found.map((f) => f.kind)).toEqual(
      expect.arrayContaining([
        "registry JWT",
        "connector token",
        "robot API token",
        "session cookie",
        "Basic credentials",
        "Bearer token",
        "known secret",
      ]),
    );
  });

  it("finds the exact secrets a run knew (its .secrets.json): passwords, tokens, WHARF_SECRET_KEY, the token key's d", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "scan-logs-"));
    const secretKey = "k3Y5ecretBase64Value+/AAAAAAAAAAAAAAAAAAAAAA=";
    const tokenKey = { kty: "EC", crv: "P-256", x: "xx", y: "yy", d: "the-private-d-of-the-key" };
    writeFileSync(
      path.join(dir, "registry-1.secrets.json"),
      JSON.stringify({
        "e2e-identities.json": { adminToken: "short-admin-tok", users: { e2e: "RANDOMPASS123" } },
        "secrets.json": { WHARF_SECRET_KEY: secretKey, WHARF_TOKEN_KEY: JSON.stringify(tokenKey) },
      }),
    );
    writeFileSync(
      path.join(dir, "registry-1.log"),
      `${CLEAN}\nkey loaded: the-private-d-of-the-key\nuser RANDOMPASS123\n`,
    );
    writeFileSync(path.join(dir, "registry-2.log"), `${CLEAN}\nconfig ${secretKey}\n`);
    writeFileSync(path.join(dir, "clean.log"), CLEAN);
    const report = (scanDirectory(dir, []) as string[]).join("\n");
    expect(report).toMatch(/registry-1\.log:6: known secret the-…/);
    expect(report).toMatch(/registry-1\.log:7: known secret RAND…/);
    // Secrets of one run are that run's: registry-2's log holds registry-1's key only by accident of the test.
    expect(report).not.toMatch(/registry-2\.log/);
    expect(report).not.toMatch(/clean\.log/);
    // Reported masked: the report is itself a log.
    expect(report).not.toContain("RANDOMPASS123");
  });

  it("as a command: exit 1 naming file and line on a planted secret, 0 on clean logs", () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "scan-logs-"));
    writeFileSync(path.join(dir, "registry.log"), CLEAN);
    const clean = spawnSync(process.execPath, ["scripts/scan-logs.mjs", dir], { cwd: ROOT, encoding: "utf8" });
    expect(clean.status, clean.stderr).toBe(0);
    writeFileSync(path.join(dir, "connector.log"), `${CLEAN}\ntoken=${JWT}\n`);
    const dirty = spawnSync(process.execPath, ["scripts/scan-logs.mjs", dir], { cwd: ROOT, encoding: "utf8" });
    expect(dirty.status).toBe(1);
    expect(dirty.stderr).toMatch(/connector\.log:6: registry JWT/);
    expect(dirty.stderr).not.toContain(JWT);
  });
});
