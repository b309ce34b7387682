#!/usr/bin/env node
// `node scripts/scan-logs.mjs [dir]` (default dist/test-logs): fails when any line of the logs the
// end-to-end suite's registries wrote (test/e2e/helpers/test-logs.ts) holds a secret. What counts:
// - the secrets each run knew, from the `<log>.secrets.json` written next to its log: the passwords
//   and tokens of its test identities, and its WHARF_SECRET_KEY and WHARF_TOKEN_KEY (the `d`);
// - the passwords the end-to-end tests write literally (`password: "…"` in test/e2e);
// - anything shaped like a credential Wharf issues or accepts: registry JWTs, `wharfc_` connector
//   and `qro_` robot API tokens, 40-character OAuth/app tokens, robot tokens, session cookies,
//   Basic and Bearer Authorization values.
// Each finding prints as file:line and the kind, with the secret masked; the exit status is 1.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

/** Credential shapes: [kind, pattern]. Each pattern's first group (or whole match) is the secret. */
export const PATTERNS = [
  ["registry JWT", /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{20,}/g],
  ["connector token", /\bwharfc_[A-Za-z0-9]{20,}/g],
  ["robot API token", /\bqro_[A-Za-z0-9]{20,}/g],
  ["session cookie", /\bwharf_session=([A-Za-z0-9_-]{16,})/g],
  ["OIDC state cookie", /\bwharf_oidc_state=([A-Za-z0-9_.~-]{16,})/g],
  ["Basic credentials", /\bBasic\s+([A-Za-z0-9+/]{6,}={0,2})/g],
  ["Bearer token", /\bBearer\s+([A-Za-z0-9._~+/-]{20,}=*)/g],
  // OAuth and application tokens (40 letters and digits), robot tokens (64): mixed case and a
  // digit, which hex digests, UUIDs and git commits never have.
  [
    "token (40 or 64 letters and digits)",
    /(?<![A-Za-z0-9])((?=[A-Za-z0-9]*[a-z])(?=[A-Za-z0-9]*[A-Z])(?=[A-Za-z0-9]*[0-9])(?:[A-Za-z0-9]{40}|[A-Za-z0-9]{64}))(?![A-Za-z0-9])/g,
  ],
];

/**
 * The password literals of the end-to-end tests (`password: "…"`, `password = "…"`): 8 characters or
 * more, not a plain word (a log saying "secret" or "password" leaks nothing).
 */
export function testPasswords(dir = path.join(root, "test", "e2e")) {
  const found = new Set();
  for (const file of walk(dir).filter((f) => f.endsWith(".ts"))) {
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/password\w*["']?\s*[:=]\s*["'`]([^"'`$\s]{8,})["'`]/gi))
      if (!/^[A-Za-z]+$/.test(m[1])) found.add(m[1]);
  }
  return [...found];
}

/** Whether `value` is Basic credentials (`user:password` in base64), not a word after "Basic". */
function isBasicCredential(value) {
  try {
    return Buffer.from(value, "base64").toString("utf8").includes(":");
  } catch {
    return false;
  }
}

/** The known secrets of a log: its sidecar's values (strings of 6 characters or more). */
function knownSecrets(logFile) {
  const sidecar = logFile.replace(/\.log$/, ".secrets.json");
  if (!existsSync(sidecar)) return [];
  const values = [];
  const collect = (v) => {
    if (typeof v === "string") {
      if (v.length >= 6) values.push(v);
      // WHARF_TOKEN_KEY is a JWK: its private part is the secret, the JSON as a whole too.
      if (v.startsWith("{")) {
        try {
          collect(JSON.parse(v).d);
        } catch {}
      }
    } else if (v && typeof v === "object") Object.values(v).forEach(collect);
  };
  collect(JSON.parse(readFileSync(sidecar, "utf8")));
  return values;
}

const mask = (secret) => (secret.length <= 8 ? "***" : `${secret.slice(0, 4)}…(${secret.length} chars)`);

/** Every finding in `text` (one log): `{ line, kind, secret }`. */
export function findSecrets(text, known = []) {
  const findings = [];
  text.split("\n").forEach((line, i) => {
    for (const secret of known) if (line.includes(secret)) findings.push({ line: i + 1, kind: "known secret", secret });
    for (const [kind, pattern] of PATTERNS) {
      for (const m of line.matchAll(pattern)) {
        const secret = m[1] ?? m[0];
        if (kind === "Basic credentials" && !isBasicCredential(secret)) continue;
        findings.push({ line: i + 1, kind, secret });
      }
    }
  });
  return findings;
}

function walk(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? walk(full) : [full];
  });
}

/** Scans every `*.log` under `dir`; the findings, as printable lines. */
export function scanDirectory(dir, passwords = testPasswords()) {
  const out = [];
  for (const file of walk(dir).filter((f) => f.endsWith(".log"))) {
    const findings = findSecrets(readFileSync(file, "utf8"), [...passwords, ...knownSecrets(file)]);
    for (const f of findings) out.push(`${path.relative(process.cwd(), file)}:${f.line}: ${f.kind} ${mask(f.secret)}`);
  }
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const dir = path.resolve(process.argv[2] ?? path.join(root, "dist", "test-logs"));
  const logs = walk(dir).filter((f) => f.endsWith(".log"));
  if (logs.length === 0) {
    console.error(`scan-logs: no logs under ${dir}: the end-to-end suite writes them there`);
    process.exit(1);
  }
  const findings = scanDirectory(dir);
  if (findings.length > 0) {
    console.error(`scan-logs: ${findings.length} secret(s) in the logs:\n${findings.join("\n")}`);
    process.exit(1);
  }
  console.log(`scan-logs: ${logs.length} log(s) under ${path.relative(process.cwd(), dir) || "."}, no secret found`);
}
