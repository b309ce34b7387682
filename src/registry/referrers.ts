/** The referrers of a subject (distribution-spec "Listing Referrers"). */
import { and, asc, eq, gt, isNull } from "drizzle-orm";
import type { Db } from "../db/client";
import { manifests } from "../db/schema";
import type { Digest } from "./reference";

export interface ReferrerDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/**
 * Descriptors of the live manifests in the repository whose `subject` is `subject`, ordered by
 * digest after `last`. `artifactType` is the manifest's own, else its config's media type (for
 * images); indexes without one omit it, as the spec says.
 */
export async function listReferrers(
  db: Db,
  repositoryId: number,
  subject: Digest,
  options: { artifactType?: string; limit: number; last?: string },
): Promise<ReferrerDescriptor[]> {
  const rows = await db
    .select()
    .from(manifests)
    .where(
      and(
        eq(manifests.repositoryId, repositoryId),
        eq(manifests.subjectDigest, subject),
        isNull(manifests.deletedAt),
        options.artifactType === undefined ? undefined : eq(manifests.artifactType, options.artifactType),
        options.last === undefined ? undefined : gt(manifests.digest, options.last),
      ),
    )
    .orderBy(asc(manifests.digest))
    .limit(options.limit);
  return rows.map((row) => {
    const descriptor: ReferrerDescriptor = { mediaType: row.mediaType, digest: row.digest, size: row.size };
    if (row.artifactType) descriptor.artifactType = row.artifactType;
    if (row.annotations) descriptor.annotations = JSON.parse(row.annotations) as Record<string, string>;
    return descriptor;
  });
}
