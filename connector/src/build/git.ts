/**
 * A trigger's build source: `git clone` of the repository, then `git checkout` of the commit the
 * push named. SSH URLs use the trigger's deploy key (written 0600 in the job's directory, never
 * in the user's ~/.ssh). Only the transports a trigger can name are allowed (git's `ext::` and
 * `file://` could run commands or read the connector's disk), and no prompt can hang the job.
 */
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { ChildFailed, runChecked } from "../child";
import { JobFailure } from "../connector";
import type { GitSource } from "../jobs";
import { checkSourceHost } from "./address-check";

export interface GitFetchOptions {
  jobDir: string;
  /** The connector's own known_hosts (trust on first use across its jobs; the user's ~/.ssh untouched). */
  knownHostsFile: string;
  into: string;
  allowPrivate: boolean;
  signal: AbortSignal;
  onLine: (line: string) => void;
}

/** The host of an https/http/git/ssh URL or of scp-like `user@host:path`, or null for anything else. */
export function gitHost(url: string): { host: string; ssh: boolean } | null {
  // scp-like `user@host:path`; `ext::…` (git's command transport) is not one.
  const scp = /^(?:[A-Za-z0-9._-]+@)?(\[[^\]]+\]|[A-Za-z0-9.-]+):(?!\/\/|:)/.exec(url);
  if (scp && !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) return { host: scp[1]!, ssh: true };
  try {
    const parsed = new URL(url);
    if (["https:", "http:", "git:"].includes(parsed.protocol)) return { host: parsed.hostname, ssh: false };
    if (parsed.protocol === "ssh:" || parsed.protocol === "git+ssh:") return { host: parsed.hostname, ssh: true };
  } catch {
    // not a URL
  }
  return null;
}

export async function fetchGit(source: GitSource, options: GitFetchOptions): Promise<void> {
  const where = gitHost(source.url);
  if (!where || source.url.startsWith("-"))
    throw new JobFailure(`the git URL ${source.url} is not an https, http, git or ssh URL`, false);
  await checkSourceHost(where.host, options.allowPrivate);
  const env: Record<string, string> = {
    GIT_TERMINAL_PROMPT: "0",
    GIT_ASKPASS: "/bin/false",
    SSH_ASKPASS: "/bin/false",
    GIT_CONFIG_NOSYSTEM: "1",
  };
  if (where.ssh) {
    if (!source.ssh_private_key)
      throw new JobFailure("the git URL is an SSH URL but the trigger has no deploy key", false);
    const key = path.join(options.jobDir, "deploy-key");
    const keyText = source.ssh_private_key.endsWith("\n") ? source.ssh_private_key : `${source.ssh_private_key}\n`;
    await writeFile(key, keyText, { mode: 0o600 });
    env.GIT_SSH_COMMAND = `ssh -i '${key}' -o IdentitiesOnly=yes -o StrictHostKeyChecking=accept-new -o UserKnownHostsFile='${options.knownHostsFile}' -o BatchMode=yes`;
  }
  const safety = [
    "-c",
    "protocol.allow=never",
    ...["https", "http", "git", "ssh"].flatMap((p) => ["-c", `protocol.${p}.allow=always`]),
    "-c",
    "core.hooksPath=/dev/null",
  ];
  const run = (args: string[], label: string) =>
    runChecked("git", [...safety, ...args], {
      env,
      signal: options.signal,
      label,
      onLine: (line) => options.onLine(line),
    });
  const commit = source.commit?.trim();
  const branch = source.ref?.replace(/^refs\/(heads|tags)\//, "");
  options.onLine(`Cloning ${source.url}${commit ? ` at ${commit}` : branch ? ` (${branch})` : ""}`);
  try {
    await run(["clone", "--no-checkout", "--quiet", "--", source.url, options.into], "git clone");
    if (commit) {
      if (!/^[0-9a-f]{4,64}$/i.test(commit)) throw new JobFailure(`${commit} is not a commit id`, false);
      await run(["-C", options.into, "checkout", "--quiet", "--detach", commit], "git checkout");
    } else if (branch) {
      await run(["-C", options.into, "checkout", "--quiet", "--detach", `origin/${branch}`], "git checkout");
    } else {
      await run(["-C", options.into, "checkout", "--quiet", "--detach", "HEAD"], "git checkout");
    }
  } catch (err) {
    if (err instanceof JobFailure) throw err;
    // The repository may be back in a minute (a network error, a host being restarted).
    throw new JobFailure(err instanceof ChildFailed ? gitMessage(err) : (err as Error).message, true);
  }
}

/** Git's reason: its last lines (ssh's refusal comes before git's own "fatal:"), without its advice. */
function gitMessage(err: ChildFailed): string {
  const lines = err.result.stderrTail
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !/^(Please make sure you have|and the repository exists)/.test(l));
  const label = err.message.slice(0, err.message.indexOf(":"));
  return lines.length > 0 ? `${label}: ${lines.slice(-2).join(" ")}` : err.message;
}
