/**
 * A tar reader that only maps where each file's bytes are: headers are read 512 bytes at a time by
 * offset, so a multi-GiB `docker save` archive is never loaded into memory, and a layer is later
 * streamed straight from its place in the archive. Reads ustar, GNU long names (`L`, `K`) and pax
 * headers (`x`: path, linkpath, size), as `docker save` and `podman save` write them.
 */
import { open } from "node:fs/promises";
import path from "node:path";

export interface TarEntry {
  name: string;
  /** Where the file's bytes start in the archive. */
  offset: number;
  size: number;
}

const BLOCK = 512;

function text(block: Buffer, start: number, length: number): string {
  const field = block.subarray(start, start + length);
  const end = field.indexOf(0);
  return field.subarray(0, end === -1 ? length : end).toString("utf8");
}

/** A numeric field: octal text, or base-256 when its first byte has the high bit (GNU, for > 8 GiB). */
function numeric(block: Buffer, start: number, length: number): number {
  const field = block.subarray(start, start + length);
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (let i = 1; i < length; i++) value = value * 256 + field[i]!;
    return value;
  }
  const digits = text(block, start, length).trim();
  if (!/^[0-7]*$/.test(digits)) throw new Error(`not a tar archive (bad number ${JSON.stringify(digits)})`);
  return digits === "" ? 0 : Number.parseInt(digits, 8);
}

function checksumOk(block: Buffer): boolean {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : block[i]!;
  return sum === numeric(block, 148, 8);
}

/** The pax records (`<len> key=value\n`) of an extended header. */
function paxRecords(data: Buffer): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < data.length) {
    const space = data.indexOf(0x20, at);
    if (space === -1) break;
    const length = Number.parseInt(data.subarray(at, space).toString("ascii"), 10);
    if (!Number.isFinite(length) || length <= 0) break;
    const record = data.subarray(space + 1, at + length - 1).toString("utf8");
    const eq = record.indexOf("=");
    if (eq > 0) records.set(record.slice(0, eq), record.slice(eq + 1));
    at += length;
  }
  return records;
}

/**
 * The regular files of the archive at `file`, by normalized name (`./x` and `x` are one). Hard and
 * symbolic links to a file in the archive (old `docker save` links repeated layers) name the
 * target's bytes.
 */
export async function readTarIndex(file: string): Promise<Map<string, TarEntry>> {
  const handle = await open(file, "r");
  const entries = new Map<string, TarEntry>();
  const links: { name: string; target: string }[] = [];
  try {
    const { size: archiveSize } = await handle.stat();
    const block = Buffer.alloc(BLOCK);
    let offset = 0;
    let longName: string | null = null;
    let longLinkName: string | null = null;
    let pax = new Map<string, string>();
    const readData = async (at: number, size: number) => {
      const data = Buffer.alloc(size);
      await handle.read(data, 0, size, at);
      return data;
    };
    while (offset + BLOCK <= archiveSize) {
      await handle.read(block, 0, BLOCK, offset);
      if (block.every((b) => b === 0)) break;
      if (!checksumOk(block)) throw new Error(`not a tar archive (bad header checksum at byte ${offset})`);
      const type = String.fromCharCode(block[156]!);
      const prefix = text(block, 345, 155);
      const rawName =
        longName ?? pax.get("path") ?? (prefix ? `${prefix}/${text(block, 0, 100)}` : text(block, 0, 100));
      const size = pax.has("size") ? Number(pax.get("size")) : numeric(block, 124, 12);
      const dataAt = offset + BLOCK;
      offset = dataAt + Math.ceil(size / BLOCK) * BLOCK;
      if (type === "L") {
        longName = text(await readData(dataAt, size), 0, size);
        continue;
      }
      if (type === "K") {
        longLinkName = text(await readData(dataAt, size), 0, size);
        continue;
      }
      if (type === "x") {
        pax = paxRecords(await readData(dataAt, size));
        continue;
      }
      if (type === "g") continue;
      const name = normalize(rawName);
      if (type === "0" || type === "\0" || type === "7") entries.set(name, { name, offset: dataAt, size });
      const linkName = longLinkName ?? pax.get("linkpath") ?? text(block, 157, 100);
      if (type === "1") links.push({ name, target: normalize(linkName) });
      else if (type === "2")
        links.push({ name, target: normalize(path.posix.join(path.posix.dirname(name), linkName)) });
      longName = null;
      longLinkName = null;
      pax = new Map();
    }
  } finally {
    await handle.close();
  }
  for (const { name, target } of links) {
    const entry = entries.get(target);
    if (entry) entries.set(name, { ...entry, name });
  }
  return entries;
}

/** A member's name as the archive's manifest.json refers to it. */
export function normalize(name: string): string {
  return path.posix.normalize(name.replace(/^\.?\/+/, "")).replace(/\/$/, "");
}
