/**
 * The archive's performer filter (src/events/logs-archive.ts): a performer that names no account
 * resolves to null, and D1's query answers nothing for it; the archive must answer nothing too, not
 * the archived entries that have no performer (anonymous pulls, Wharf's own actions).
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { ActionLog } from "../../../src/db/schema";
import { readArchive } from "../../../src/events/logs-archive";
import { actionLogArchiveKey } from "../../../src/storage/keys";
import { R2BlobStore } from "../../../src/storage/r2-blob-store";

const DAY = 86_400_000;

function entry(id: number, at: number, performerId: number | null): ActionLog {
  return {
    id,
    eventId: null,
    kind: "pull_repo",
    performerId,
    performerName: performerId === null ? null : `user${performerId}`,
    performerKind: performerId === null ? null : "user",
    ip: null,
    namespaceId: 77_001,
    namespaceName: "archived-anon",
    repositoryId: 88_001,
    repositoryName: "app",
    metadata: "{}",
    datetime: at,
  };
}

describe("the archive's performer filter", () => {
  it("answers nothing for an unknown performer, the entry of a known one for theirs", async () => {
    const dayStart = Math.floor(Date.UTC(2026, 0, 10) / DAY) * DAY;
    const day = new Date(dayStart).toISOString().slice(0, 10);
    const lines = [entry(1, dayStart + 1_000, null), entry(2, dayStart + 2_000, 5)];
    await env.BLOBS.put(actionLogArchiveKey(day, 77_001, 1, 2), lines.map((e) => JSON.stringify(e)).join("\n"));
    const store = new R2BlobStore(env.BLOBS);
    const window = { startMs: dayStart, endMs: dayStart + DAY };
    const read = (performerId: number | null | undefined) =>
      readArchive(store, window, { namespaceId: 77_001, performerId }, 10, undefined, dayStart + DAY);

    expect((await read(null)).entries).toEqual([]);
    expect((await read(5)).entries.map((e) => e.id)).toEqual([2]);
    expect((await read(undefined)).entries.map((e) => e.id)).toEqual([2, 1]);
  });
});
