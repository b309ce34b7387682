/**
 * Quay's `quay.expires-after`: an image label (or, for artifacts without an image config, an OCI
 * manifest annotation, Quay docs §16.3) that makes the pushed tag expire a span after the push,
 * e.g. `LABEL quay.expires-after=2w` (Quay `data/registry_model/label_handlers.py`).
 */
import { parseDuration } from "../lib/durations";

export const EXPIRES_AFTER_KEY = "quay.expires-after";

/**
 * The absolute expiry, in ms, that `quay.expires-after` asks for, counted from `pushMs`; null when
 * neither the image's labels nor the manifest's annotations carry it, or when its value is not
 * one Wharf honours.
 *
 * Precedence: the image label, when present, decides alone; the annotation counts only when no
 * label says anything (a malformed label does not fall back to the annotation, since the image's
 * author meant that label).
 *
 * Refused values are ignored, never an error: Quay logs a value it cannot parse and pushes the
 * tag without expiry, and Wharf does the same for
 * - anything parseDuration refuses (units s m h d w y only, whole numbers);
 * - a zero span (`0s`), which would make a tag that is dead on arrival;
 * - a span beyond MAXIMUM_TAG_EXPIRATION: ignored rather than clamped, so an image never gets a
 *   lifetime its author did not write.
 */
export function expiresAfterMs(
  labels: Readonly<Record<string, string>> | null,
  annotations: Readonly<Record<string, string>> | null,
  pushMs: number,
  maxSeconds: number,
): number | null {
  const text = expiresAfterValue(labels) ?? expiresAfterValue(annotations);
  if (text === undefined) return null;
  const seconds = parseDuration(text);
  if (seconds === null || seconds <= 0 || seconds > maxSeconds) return null;
  return pushMs + seconds * 1000;
}

function expiresAfterValue(map: Readonly<Record<string, string>> | null): string | undefined {
  if (!map || !Object.hasOwn(map, EXPIRES_AFTER_KEY)) return undefined;
  const value: unknown = map[EXPIRES_AFTER_KEY];
  return typeof value === "string" ? value : undefined;
}
