/**
 * A build's source file, unpacked with the system's `tar` or `unzip`: a tar (plain, gzip, bzip2,
 * xz) or zip archive is extracted into the job's fresh directory; anything else is the Dockerfile
 * itself (Quay's builds accept both). Entries that would land outside the directory (absolute
 * paths, `..`, a path through a symlink the archive itself made) refuse the whole archive.
 */
import { open, rename } from "node:fs/promises";
import path from "node:path";
import { runChecked } from "../child";
import { JobFailure } from "../connector";

export type SourceFormat = "tar" | "zip" | "dockerfile";

/** Reads the file's first bytes: the format is what the bytes are, whatever the upload claimed. */
export async function sniffFormat(file: string): Promise<SourceFormat> {
  const handle = await open(file, "r");
  try {
    const head = Buffer.alloc(512);
    const { bytesRead } = await handle.read(head, 0, 512, 0);
    const b = head.subarray(0, bytesRead);
    if (b.length >= 4 && b[0] === 0x50 && b[1] === 0x4b && (b[2] === 3 || b[2] === 5)) return "zip";
    if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return "tar"; // gzip: tar.gz
    if (b.length >= 3 && b.subarray(0, 3).toString("latin1") === "BZh") return "tar";
    if (b.length >= 6 && b.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return "tar";
    if (b.length >= 262 && b.subarray(257, 262).toString("latin1") === "ustar") return "tar";
    return "dockerfile";
  } finally {
    await handle.close();
  }
}

/** Unpacks `file` into `dir` (which must be empty); a lone Dockerfile becomes `dir/Dockerfile`. */
export async function unpackSource(file: string, dir: string, signal: AbortSignal): Promise<SourceFormat> {
  const format = await sniffFormat(file);
  if (format === "dockerfile") {
    await rename(file, path.join(dir, "Dockerfile"));
    return format;
  }
  const entries = format === "tar" ? await tarEntries(file, signal) : await zipEntries(file, signal);
  checkEntries(entries);
  if (format === "tar")
    await runChecked("tar", ["-x", "--no-same-owner", "--no-same-permissions", "-f", file, "-C", dir], {
      signal,
      label: "tar",
    });
  else await runChecked("unzip", ["-q", "-o", file, "-d", dir], { signal, label: "unzip" });
  return format;
}

export interface ArchiveEntry {
  name: string;
  type: "file" | "dir" | "symlink" | "hardlink" | "other";
}

/** Refuses entries outside the directory and entries reached through the archive's own links. */
export function checkEntries(entries: ArchiveEntry[]): void {
  const links = new Set<string>();
  for (const entry of entries) {
    const name = entry.name.replace(/^\.\/+/, "").replace(/\/+$/, "");
    if (name === "" || name === ".") continue;
    if (name.startsWith("/") || /^[A-Za-z]:/.test(name))
      throw new JobFailure(`the archive's entry ${entry.name} is an absolute path`, false);
    const parts = name.split("/");
    if (parts.includes("..")) throw new JobFailure(`the archive's entry ${entry.name} leaves its directory`, false);
    for (let i = 1; i < parts.length; i++) {
      if (links.has(parts.slice(0, i).join("/")))
        throw new JobFailure(`the archive's entry ${entry.name} goes through a link the archive made`, false);
    }
    if (entry.type === "symlink" || entry.type === "hardlink") links.add(name);
  }
}

async function tarEntries(file: string, signal: AbortSignal): Promise<ArchiveEntry[]> {
  // Names (escaped, one per line) and the verbose listing (its type letter) pair up line by line.
  const names = (
    await runChecked("tar", ["-t", "--quoting-style=escape", "-f", file], { signal, captureStdout: true, label: "tar" })
  ).stdout
    .split("\n")
    .filter((l) => l !== "");
  const long = (
    await runChecked("tar", ["-tv", "--quoting-style=escape", "-f", file], {
      signal,
      captureStdout: true,
      label: "tar",
    })
  ).stdout
    .split("\n")
    .filter((l) => l !== "");
  if (names.length !== long.length) throw new JobFailure("the archive's listing could not be read", false);
  return names.map((name, i) => ({ name, type: typeOf(long[i]?.[0]) }));
}

async function zipEntries(file: string, signal: AbortSignal): Promise<ArchiveEntry[]> {
  const names = (await runChecked("unzip", ["-Z1", file], { signal, captureStdout: true, label: "unzip" })).stdout
    .split("\n")
    .filter((l) => l !== "");
  const long = (await runChecked("unzip", ["-Z", "-s", file], { signal, captureStdout: true, label: "unzip" })).stdout
    .split("\n")
    .filter((l) => /^[-dlbcps?][-rwxsStT?]{9}\s/.test(l));
  return names.map((name, i) => ({ name, type: long.length === names.length ? typeOf(long[i]?.[0]) : "file" }));
}

function typeOf(letter: string | undefined): ArchiveEntry["type"] {
  switch (letter) {
    case "-":
      return "file";
    case "d":
      return "dir";
    case "l":
      return "symlink";
    case "h":
      return "hardlink";
    default:
      return "other";
  }
}
