/**
 * `npm start` on an empty state creates the superuser `admin`: with a random password it prints
 * once, or with $WHARF_ADMIN_PASSWORD, which it never prints. Clients log in with it.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { login, registryHost, run } from "./helpers/clients";
import { startWharf } from "./helpers/server";

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-bootstrap-"));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

describe("npm start bootstraps the superuser", () => {
  it("prints a random password once; podman and skopeo log in with it, not with another; a restart keeps it", async () => {
    const first = await startWharf({ env: { WHARF_BOOTSTRAP_ADMIN: "true" } });
    let password: string;
    try {
      password = first.output().match(/superuser admin created, password: (\S+)/)?.[1] ?? "";
      expect(password.length).toBeGreaterThanOrEqual(16);
      const host = registryHost(first.url);
      await login(host, { username: "admin", password }, path.join(tmp, "podman.json"));
      await expect(
        login(host, { username: "admin", password: `${password}x` }, path.join(tmp, "wrong.json")),
      ).rejects.toThrow(/exit/);
      await run("skopeo", [
        "login",
        "--tls-verify=false",
        "--authfile",
        path.join(tmp, "skopeo.json"),
        "-u",
        "admin",
        "-p",
        password,
        host,
      ]);
    } finally {
      await first.stop({ keepState: true });
    }
    const second = await startWharf({ stateDir: first.stateDir, env: { WHARF_BOOTSTRAP_ADMIN: "true" } });
    try {
      expect(second.output()).not.toContain("superuser admin created");
      await login(registryHost(second.url), { username: "admin", password }, path.join(tmp, "again.json"));
    } finally {
      await second.stop();
    }
  }, 180_000);

  it("uses $WHARF_ADMIN_PASSWORD without printing it", async () => {
    const password = `chosen-${Math.random().toString(36).slice(2)}`;
    const server = await startWharf({ env: { WHARF_BOOTSTRAP_ADMIN: "true", WHARF_ADMIN_PASSWORD: password } });
    try {
      expect(server.output()).toContain("superuser admin created with $WHARF_ADMIN_PASSWORD");
      expect(server.output()).not.toContain(password);
      await login(registryHost(server.url), { username: "admin", password }, path.join(tmp, "chosen.json"));
    } finally {
      await server.stop();
    }
  }, 120_000);
});
