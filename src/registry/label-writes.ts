/**
 * The API's label writes (Quay `endpoints/api/manifest.py`): adding an `api` label to a manifest
 * (`manifest_label_add`) and deleting one (`manifest_label_delete`), each one conditional statement
 * with its event on the same condition, in one batch: the conditions keep them right against a
 * manifest deleted or collected meanwhile.
 *
 * They run under the repository's lock (durable-objects/RepositoryDO.ts), which reads the state
 * (`DB`'s) first: Quay refuses label writes in a READ_ONLY repository (src/registry/repository-
 * state.ts), and a change of state is made under the same lock, so none slips in between. They
 * write the namespace's registry core (`core`, docs/sharding-the-registry-core.md): the label, and
 * its event in that database's outbox, from which the lock's owner publishes it.
 */
import { and, count, eq, sql } from "drizzle-orm";
import { batchSql } from "../db/client";
import { type ManifestLabel, manifestLabels, manifests } from "../db/schema";
import type { EventOrigin, RepositoryRef } from "../events/envelope";
import { type Committed, eventStatement } from "../events/outbox";
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
import { normalState } from "./repository-state";

/** What a label write needs of the manifest it found: plain data, it crosses RPC. */
export interface LabelledManifest {
  id: number;
  digest: string;
}

/**
 * Adds an `api` label with a new UUID. One statement, so a manifest deleted or collected since it
 * was looked up gets no label (null: the caller answers 404) and the bound holds under races; its
 * event is written after it, where the new label's row exists.
 */
export async function addLabel(
  { core }: WriteClients,
  repository: RepositoryRef,
  manifest: LabelledManifest,
  label: NewLabel & { mediaType: LabelMediaType },
  origin: EventOrigin,
): Promise<Committed<LabelView | null>> {
  const id = crypto.randomUUID();
  const data = {
    digest: manifest.digest as Digest,
    label: { id, key: label.key, value: label.value, mediaType: label.mediaType },
  };
  const event = repositoryEvent("manifest_label_add", repository, origin, data);
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
    const view = labelView({ id, key: label.key, value: label.value, sourceType: "api", mediaType: label.mediaType });
    return { value: view, events: [event] };
  }
  const held = await core
    .select({ n: count() })
    .from(manifestLabels)
    .where(eq(manifestLabels.manifestId, manifest.id))
    .get();
  if ((held?.n ?? 0) >= MAX_LABELS_PER_MANIFEST)
    throw refusal(`A manifest carries at most ${MAX_LABELS_PER_MANIFEST} labels`);
  return { value: null, events: [] };
}

/**
 * Deletes an `api` label; undefined when the manifest has no such label. Labels from the image
 * (and Quay's `internal` ones) are immutable: Quay's DataModelException "Cannot delete immutable
 * label", a 400. The event is written before the delete, where the label's row still exists.
 */
export async function deleteLabel(
  { core }: WriteClients,
  repository: RepositoryRef,
  manifest: LabelledManifest,
  labelId: string,
  origin: EventOrigin,
): Promise<Committed<ManifestLabel | undefined>> {
  const label = await core
    .select()
    .from(manifestLabels)
    .where(and(eq(manifestLabels.manifestId, manifest.id), eq(manifestLabels.id, labelId)))
    .get();
  if (!label) return { value: undefined, events: [] };
  if (label.sourceType !== "api") throw refusal("Cannot delete immutable label");
  const data = {
    digest: manifest.digest as Digest,
    label: { id: label.id, key: label.key, value: label.value, mediaType: label.mediaType },
  };
  const event = repositoryEvent("manifest_label_delete", repository, origin, data);
  const deletable = and(
    eq(manifestLabels.id, label.id),
    eq(manifestLabels.sourceType, "api"),
    normalState(repository.id),
  );
  const [, deleted] = await core.batch([
    eventStatement(core, event, { onlyIf: sql`exists (select 1 from ${manifestLabels} where ${deletable})` }),
    core.delete(manifestLabels).where(deletable).returning({ id: manifestLabels.id }),
  ]);
  return { value: label, events: deleted.length > 0 ? [event] : [] };
}
