/**
 * Attack (issue #16 review): storage and bandwidth past the quota through a mirror. A push is
 * refused at its upload start once the namespace is at its Reject limit (Quay's
 * start_blob_upload); a mirror sync stored every layer of a tag first and was refused only at the
 * manifest, leaving the layers unreferenced (until garbage collection) and fetching them all again
 * at the next sync, every interval, however far past the limit the namespace was.
 */
import { env } from "cloudflare:workers";
import { eq } from "drizzle-orm";
import { beforeAll, describe, expect, it } from "vitest";
import { namespaceQuotas, quotaLimits, repositoryBlobs, users } from "../../../src/db/schema";
import type { Digest } from "../../../src/lib/digest";
import { runMirrorSync } from "../../../src/mirror/sync";
import { findRepository } from "../../../src/registry/repositories";
import type { UpstreamRegistry } from "../../../src/upstream/registry";
import { db } from "../helpers/accounts";
import { makeMirrorAccounts, mirrored } from "../helpers/mirrors";
import { bytesOf, OCI_CONFIG, OCI_LAYER, OCI_MANIFEST, sha256 } from "../helpers/registry";

let olga: string;

beforeAll(async () => {
  ({ olga } = await makeMirrorAccounts());
});

async function upstreamWithLatest() {
  const config = bytesOf(JSON.stringify({ architecture: "amd64", os: "linux", n: crypto.randomUUID() }));
  const layer = bytesOf(`layer ${crypto.randomUUID()}`.repeat(100));
  const blobs = new Map<string, Uint8Array>([
    [await sha256(config), config],
    [await sha256(layer), layer],
  ]);
  const bytes = bytesOf(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: await sha256(config), size: config.byteLength },
      layers: [{ mediaType: OCI_LAYER, digest: await sha256(layer), size: layer.byteLength }],
    }),
  );
  const digest = (await sha256(bytes)) as Digest;
  const fetched: string[] = [];
  const upstream: UpstreamRegistry = {
    ping: async () => "anonymous",
    headManifest: async () => ({ digest, mediaType: OCI_MANIFEST, size: bytes.byteLength }),
    getManifest: async () => ({ digest, mediaType: OCI_MANIFEST, size: bytes.byteLength, bytes }),
    getBlob: async (_repository, blob) => {
      fetched.push(blob);
      const found = blobs.get(blob);
      return found ? { size: found.byteLength, body: new Blob([found]).stream() } : null;
    },
    listTags: async () => ["latest"],
  };
  return { upstream, fetched };
}

describe("a mirror sync into a namespace at its Reject limit", () => {
  it("fetches and stores no layer, as a push's upload start is refused", async () => {
    await mirrored(olga, "overquota");
    const repository = (await findRepository(db(), "olga/overquota"))!;
    const owner = (await db().select().from(users).where(eq(users.username, "olga")).get())!;
    const [quota] = await db().insert(namespaceQuotas).values({ namespaceId: owner.id, limitBytes: 1000 }).returning();
    await db().insert(quotaLimits).values({ quotaId: quota!.id, type: "Reject", thresholdPercent: 100 });
    await db().update(users).set({ storageBytes: 1000 }).where(eq(users.id, owner.id));

    const { upstream, fetched } = await upstreamWithLatest();
    expect(await runMirrorSync(env, repository.id, () => upstream)).toBe("FAIL");
    expect(fetched).toEqual([]);
    expect(
      await db().select().from(repositoryBlobs).where(eq(repositoryBlobs.repositoryId, repository.id)).all(),
    ).toEqual([]);
  });
});
