/**
 * The /v2 routes' notices of a push or delete, sent after the change with no outbox behind them.
 * They are being replaced by catalogue events written at each change's commit point
 * (src/events/, docs/events.md); this module goes once the repository writes emit through the
 * outbox.
 */
import { z } from "zod";

export const legacyNoticeSchema = z.discriminatedUnion("type", [
  z.object({
    type: z.literal("manifest_pushed"),
    repository: z.string(),
    digest: z.string(),
    mediaType: z.string(),
    tag: z.string().nullable(),
    at: z.number(),
  }),
  z.object({ type: z.literal("manifest_deleted"), repository: z.string(), digest: z.string(), at: z.number() }),
  z.object({ type: z.literal("tag_deleted"), repository: z.string(), tag: z.string(), at: z.number() }),
  z.object({ type: z.literal("blob_deleted"), repository: z.string(), digest: z.string(), at: z.number() }),
]);

export type LegacyNotice = z.infer<typeof legacyNoticeSchema>;

/**
 * Sends a notice without holding up the response. A failed send is logged, never surfaced: the
 * change it describes is already committed.
 */
export function emit(env: Env, ctx: { waitUntil(p: Promise<unknown>): void }, notice: LegacyNotice): void {
  ctx.waitUntil(
    env.EVENTS.send(notice).catch((err: unknown) =>
      console.error(JSON.stringify({ msg: "event not queued", event: notice, err: String(err) })),
    ),
  );
}
