/**
 * Durable Object RPC keeps only an exception's message, not its class, so the objects return
 * outcomes and the Worker turns a failed one back into the same error: a {@link RegistryError}
 * for /v2, an {@link ApiError} for /api/v1 (the tag API's writes run in the same object).
 */
import { ApiError, type ApiErrorType } from "../api/errors";
import { RegistryError, type OciErrorCode } from "./errors";

type Failure =
  | {
      protocol: "oci";
      code: OciErrorCode;
      detail?: unknown;
      status: number;
      message: string;
      headers: Record<string, string>;
    }
  | {
      protocol: "api";
      errorType: ApiErrorType;
      status: number;
      message: string;
      headers: Record<string, string>;
      fields: Record<string, unknown>;
    };

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: Failure };

/** Runs `fn`, capturing a RegistryError or ApiError as a failed outcome; other errors propagate. */
export async function capture<T>(fn: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (err) {
    if (err instanceof RegistryError) {
      const { code, detail, status, message, headers } = err;
      return { ok: false, error: { protocol: "oci", code, detail, status, message, headers } };
    }
    if (err instanceof ApiError) {
      const { errorType, status, message, headers, fields } = err;
      return { ok: false, error: { protocol: "api", errorType, status, message, headers, fields } };
    }
    throw err;
  }
}

export function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  const failure = outcome.error;
  if (failure.protocol === "api") {
    throw new ApiError(failure.errorType, failure.message, {
      status: failure.status,
      headers: failure.headers,
      fields: failure.fields,
    });
  }
  const { code, detail, status, message, headers } = failure;
  throw new RegistryError(code, detail, { status, message, headers });
}
