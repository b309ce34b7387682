/**
 * Durable Object RPC keeps only an exception's message, not its class, so the objects return
 * outcomes and the Worker turns a failed one back into the same {@link RegistryError}.
 */
import { RegistryError, type OciErrorCode } from "./errors";

export type Outcome<T> =
  | { ok: true; value: T }
  | {
      ok: false;
      error: { code: OciErrorCode; detail?: unknown; status: number; message: string; headers: Record<string, string> };
    };

/** Runs `fn`, capturing a RegistryError as a failed outcome; other errors propagate. */
export async function capture<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (!(err instanceof RegistryError)) throw err;
    const { code, detail, status, message, headers } = err;
    return { ok: false, error: { code, detail, status, message, headers } };
  }
}

export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  const { code, detail, status, message, headers } = outcome.error;
  throw new RegistryError(code, detail, { status, message, headers });
}
