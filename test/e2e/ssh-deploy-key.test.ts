/**
 * A build trigger's deploy key as OpenSSH itself reads it: the private file Wharf writes
 * (src/lib/ssh-keys.ts) is loaded by `ssh-keygen -y`, which prints the public line Wharf shows in
 * the trigger's credentials. Skipped where the host has no ssh-keygen (test/workers/triggers/
 * ssh-keys.test.ts checks the layout field by field everywhere).
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { generateSshKeyPair } from "../../src/lib/ssh-keys";

const hasSshKeygen = spawnSync("ssh-keygen", ["-?"], { stdio: "ignore" }).error === undefined;

describe.skipIf(!hasSshKeygen)("a trigger's deploy key", () => {
  it("is read by ssh-keygen -y, which derives the very public key Wharf shows", async () => {
    const { publicKey, privateKey } = await generateSshKeyPair("wharf-trigger-e2e");
    const dir = mkdtempSync(path.join(tmpdir(), "wharf-key-"));
    try {
      const file = path.join(dir, "id_ed25519");
      writeFileSync(file, privateKey, { mode: 0o600 });
      const derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" }).trim();
      expect(derived).toBe(publicKey);
      const fingerprint = execFileSync("ssh-keygen", ["-l", "-f", file], { encoding: "utf8" });
      expect(fingerprint).toMatch(/^256 SHA256:\S+ wharf-trigger-e2e \(ED25519\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
