/**
 * Where the end-to-end suite's processes write what they print: a file per registry (and per
 * connector or README block run) under dist/test-logs/ (WHARF_TEST_LOG_DIR overrides it), which
 * `npm test` scans for secrets afterwards (scripts/scan-logs.mjs). Next to a registry's log, at its
 * stop, `<log>.secrets.json` lists the secrets that run knew (its test identities' passwords and
 * token, its WHARF_SECRET_KEY and WHARF_TOKEN_KEY), so the scan looks for those exact values too.
 * The directory is the run's own: scripts/test.mjs empties it first.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

export const TEST_LOG_DIR =
  process.env.WHARF_TEST_LOG_DIR ?? path.resolve(import.meta.dirname, "..", "..", "..", "dist", "test-logs");

export interface LogFile {
  path: string;
  /** Appends what the process printed. */
  write(chunk: Buffer | string): void;
  /** Records the secrets held in `stateDir` (a registry's), for the scan. */
  recordSecrets(stateDir: string): void;
}

/** A new log file for a process of `kind` (`registry`, `connector`, `readme-block`). */
export function openLog(kind: string): LogFile {
  mkdirSync(TEST_LOG_DIR, { recursive: true });
  const file = path.join(
    TEST_LOG_DIR,
    `${kind}-${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.log`,
  );
  writeFileSync(file, "");
  return {
    path: file,
    write: (chunk) => appendFileSync(file, chunk),
    recordSecrets(stateDir) {
      const secrets: Record<string, unknown> = {};
      for (const name of ["e2e-identities.json", "secrets.json"]) {
        const held = path.join(stateDir, name);
        if (existsSync(held)) secrets[name] = JSON.parse(readFileSync(held, "utf8"));
      }
      writeFileSync(file.replace(/\.log$/, ".secrets.json"), JSON.stringify(secrets), { mode: 0o600 });
    },
  };
}
