/**
 * Durable Object RPC keeps only an exception's message, not its class, so the objects return
 * outcomes and the Worker turns a failed one back into the same {@link DomainError}, which the
 * surface the request came to then renders (OCI codes on /v2, Quay's JSON on /api/v1).
 */
import { DomainError, type DomainErrorKind, type DomainErrorOptions } from "./domain";

type Failure = { kind: DomainErrorKind } & DomainErrorOptions;

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Failure };

/** Runs `fn`, capturing a DomainError as a failed outcome; other errors propagate. */
export async function capture<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof DomainError) return { ok: false, error: { kind: err.kind, ...err.options() } };
    throw err;
  }
}

export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  const { kind, ...options } = outcome.error;
  throw new DomainError(kind, options);
}
