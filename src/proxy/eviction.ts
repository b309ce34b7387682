/**
 * Room in a cache organization's quota (Quay's `_check_image_upload_possible_or_prune`): filled in
 * a later commit of this branch.
 */
import type { Db } from "../db/client";
import type { EventOrigin } from "../events/envelope";

export async function makeRoomFor(
  _env: Env,
  _db: Db,
  _namespace: string,
  _manifest: Uint8Array,
  _origin: EventOrigin,
): Promise<void> {}
