/**
 * A trigger's SSH source: the connector hands git the trigger's deploy key, written 0600 in the
 * job's directory and gone afterwards, with Quay's options and its own known_hosts. No sshd runs
 * on this machine, so an `ssh` earlier in PATH records how it was called and refuses, as a host
 * that does not know the key would; the job then fails with retry (the repository may be back).
 */
import { randomBytes } from "node:crypto";
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ConnectorProcess } from "../helpers/connector-process";
import { FakeEdge } from "../helpers/fake-edge";

let tmp: string;
let edge: FakeEdge;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), "wharf-connector-ssh-"));
  edge = await FakeEdge.start();
});
afterAll(async () => {
  await edge.stop();
  await rm(tmp, { recursive: true, force: true });
});

it("clones an SSH URL with the deploy key (0600, removed afterwards) and fails with retry when the host refuses", async () => {
  const bin = path.join(tmp, "bin");
  const record = path.join(tmp, "ssh-call");
  await import("node:fs/promises").then((fs) => fs.mkdir(bin));
  // The fake ssh: its arguments, the key's mode and text, then "Permission denied" as sshd would.
  await writeFile(
    path.join(bin, "ssh"),
    `#!/bin/sh\nkey=""\nprev=""\nfor a in "$@"; do [ "$prev" = "-i" ] && key="$a"; prev="$a"; done\n` +
      `{ echo "$@"; stat -c %a "$key"; cat "$key"; } > '${record}'\n` +
      `echo "git@127.0.0.1: Permission denied (publickey)." >&2\nexit 255\n`,
  );
  await chmod(path.join(bin, "ssh"), 0o755);
  const key = `-----BEGIN OPENSSH PRIVATE KEY-----\n${randomBytes(48).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----`;
  const job = edge.queue("build", {
    uuid: "b1",
    repository: "ns/app",
    registry: "registry.example",
    insecure: false,
    docker_tags: ["latest"],
    build_subdir: "",
    context: "",
    dockerfile_path: "Dockerfile",
    source: {
      kind: "git",
      url: "git@127.0.0.1:ns/app.git",
      commit: "a".repeat(40),
      ref: "refs/heads/main",
      ssh_private_key: key,
    },
    credentials: { username: "$build", password: "secret" },
  });
  const workDir = path.join(tmp, "work");
  const connector = ConnectorProcess.start(
    ["--edge", edge.url, "--allow-private-sources", "--once", "--work-dir", workDir],
    { WHARF_CONNECTOR_TOKEN: edge.token, PATH: `${bin}:${process.env.PATH}` },
  );
  try {
    expect((await connector.waitForExit(60_000)).code).toBe(0);
    expect(job.failed).toEqual({
      error: "git clone: git@127.0.0.1: Permission denied (publickey). fatal: Could not read from remote repository.",
      retry: true,
    });
    const [args, mode, ...keyLines] = (await readFile(record, "utf8")).trimEnd().split("\n");
    expect(args).toMatch(
      new RegExp(
        `^-i ${workDir}/build-\\w+/deploy-key -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=${workDir}/known_hosts -o BatchMode=yes `,
      ),
    );
    expect(mode).toBe("600");
    expect(keyLines.join("\n")).toBe(key);
    expect(await readdir(workDir)).toEqual([]);
  } finally {
    await connector.kill();
  }
});
