/**
 * The API's label writes (Quay `endpoints/api/manifest.py`): adding an `api` label to a manifest
 * (`manifest_label_add`) and deleting one (`manifest_label_delete`), each one conditional statement
 * with its event on the same condition, in one batch. They run in the Worker: the conditions, not a
 * lock, keep them right against a manifest deleted or collected meanwhile, and against a change of
 * the repository to READ_ONLY (Quay refuses label writes there: src/registry/repository-state.ts).
 *
 * They write the namespace's registry core (`core`, docs/sharding-the-registry-core.md): the label,
 * and its event in that database's outbox, from which it is published. The state is `DB`'s (`db`),
 * read before the batch. With the core in `DB` the batch's own condition also sees the state; on a
 * shard it sees only the shadow (always NORMAL), so a change to READ_ONLY committed between that
 * read and the batch lets one label write through, as it would have had it come a moment earlier.
 */
import { and, count, eq, sql } from "drizzle-orm";
import { batchSql } from "../db/client";
import { type Manifest, type ManifestLabel, manifestLabels, manifests } from "../db/schema";
import type { RepositoryRef } from "../events/envelope";
import { type EventScope, eventStatement } from "../events/outbox";
import {
  type LabelMediaType,
  type LabelView,
  labelView,
  MAX_LABELS_PER_MANIFEST,
  type NewLabel,
  refusal,
} from "./labels";
import type { WriteClients } from "./core-db";
import type { Digest } from "./reference";
import { repositoryEvent } from "./repository-events";
import { normalState, requireNormalState } from "./repository-state";

/**
 * Adds an `api` label with a new UUID. One statement, so a manifest deleted or collected since it
 * was looked up gets no label (null: the caller answers 404) and the bound holds under races; its
 * event is written after it, where the new label's row exists.
 */
export async function addLabel(
  { db, core }: WriteClients,
  repository: RepositoryRef,
  manifest: Manifest,
  label: NewLabel & { mediaType: LabelMediaType },
  events: EventScope,
): Promise<LabelView | null> {
  await requireNormalState(db, repository);
  const id = crypto.randomUUID();
  const data = {
    digest: manifest.digest as Digest,
    label: { id, key: label.key, value: label.value, mediaType: label.mediaType },
  };
  const event = repositoryEvent("manifest_label_add", repository, events.origin, data);
  const [inserted] = await batchSql(core, [
    sql`
    insert into ${manifestLabels} (id, manifest_id, key, value, source_type, media_type)
    select ${id}, ${manifest.id}, ${label.key}, ${label.value}, 'api', ${label.mediaType}
    where exists (select 1 from ${manifests} where id = ${manifest.id} and deleted_at is null)
      and ${normalState(repository.id)}
      and (select count(*) from ${manifestLabels} where manifest_id = ${manifest.id}) < ${MAX_LABELS_PER_MANIFEST}`,
    eventStatement(core, event, { onlyIf: sql`exists (select 1 from ${manifestLabels} where id = ${id})` }).getSQL(),
  ]);
  if ((inserted!.meta.changes ?? 0) > 0) {
    events.publish([event], core);
    return labelView({ id, key: label.key, value: label.value, sourceType: "api", mediaType: label.mediaType });
  }
  const held = await core
    .select({ n: count() })
    .from(manifestLabels)
    .where(eq(manifestLabels.manifestId, manifest.id))
    .get();
  if ((held?.n ?? 0) >= MAX_LABELS_PER_MANIFEST)
    throw refusal(`A manifest carries at most ${MAX_LABELS_PER_MANIFEST} labels`);
  await requireNormalState(db, repository);
  return null;
}

/**
 * Deletes an `api` label; undefined when the manifest has no such label. Labels from the image
 * (and Quay's `internal` ones) are immutable: Quay's DataModelException "Cannot delete immutable
 * label", a 400. The event is written before the delete, where the label's row still exists.
 */
export async function deleteLabel(
  { db, core }: WriteClients,
  repository: RepositoryRef,
  manifest: Manifest,
  labelId: string,
  events: EventScope,
): Promise<ManifestLabel | undefined> {
  await requireNormalState(db, repository);
  const label = await core
    .select()
    .from(manifestLabels)
    .where(and(eq(manifestLabels.manifestId, manifest.id), eq(manifestLabels.id, labelId)))
    .get();
  if (!label) return undefined;
  if (label.sourceType !== "api") throw refusal("Cannot delete immutable label");
  const data = {
    digest: manifest.digest as Digest,
    label: { id: label.id, key: label.key, value: label.value, mediaType: label.mediaType },
  };
  const event = repositoryEvent("manifest_label_delete", repository, events.origin, data);
  const deletable = and(
    eq(manifestLabels.id, label.id),
    eq(manifestLabels.sourceType, "api"),
    normalState(repository.id),
  );
  const [, deleted] = await core.batch([
    eventStatement(core, event, { onlyIf: sql`exists (select 1 from ${manifestLabels} where ${deletable})` }),
    core.delete(manifestLabels).where(deletable).returning({ id: manifestLabels.id }),
  ]);
  if (deleted.length > 0) events.publish([event], core);
  return label;
}
