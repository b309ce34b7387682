/**
 * Quay's opaque `next_page` tokens (`@page_support`): the position to continue after, sealed with
 * AES-GCM under WHARF_SECRET_KEY (as Quay encrypts its page tokens), in base64url so it survives a
 * query string unescaped. A token is bound to the listing that issued it.
 */
import { z } from "zod";
import { base64, base64url } from "../../lib/encoding";
import { decryptSecret, encryptSecret } from "../../identity/secrets";
import { invalid } from "../../errors/domain";

const tokenSchema = z.object({ list: z.string(), after: z.number().int() });

export async function encodePageToken(
  env: { WHARF_SECRET_KEY?: string },
  list: string,
  after: number,
): Promise<string> {
  return seal(env, { list, after });
}

async function seal(env: { WHARF_SECRET_KEY?: string }, payload: object): Promise<string> {
  const sealed = base64.decode(await encryptSecret(env, JSON.stringify(payload)))!;
  return base64url.encode(sealed);
}

/** The payload of a token this registry sealed, or undefined for anything else. */
async function unseal(env: { WHARF_SECRET_KEY?: string }, token: string): Promise<unknown> {
  const bytes = token.length <= 512 ? base64url.decode(token) : null;
  const plain = bytes ? await decryptSecret(env, base64.encode(bytes)) : null;
  try {
    return plain === null ? undefined : JSON.parse(plain);
  } catch {
    return undefined;
  }
}

/**
 * The position a `next_page` token continues after, or undefined without one. A token this
 * registry did not issue for `list` is refused (Quay would silently restart from the first page,
 * which loops a script forever).
 */
export async function decodePageToken(
  env: { WHARF_SECRET_KEY?: string },
  list: string,
  token: string | undefined,
): Promise<number | undefined> {
  if (token === undefined || token === "") return undefined;
  const parsed = tokenSchema.safeParse(await unseal(env, token));
  if (!parsed.success || parsed.data.list !== list) throw invalid("Invalid next_page token");
  return parsed.data.after;
}

const positionSchema = z.object({ list: z.string(), at: z.number().int(), id: z.number().int() });

/** A `next_page` token for a listing ordered by time then id: the position to continue after. */
export async function encodePositionToken(
  env: { WHARF_SECRET_KEY?: string },
  list: string,
  position: { at: number; id: number },
): Promise<string> {
  return seal(env, { list, at: position.at, id: position.id });
}

/** The position a {@link encodePositionToken} token continues after; refused as {@link decodePageToken}. */
export async function decodePositionToken(
  env: { WHARF_SECRET_KEY?: string },
  list: string,
  token: string | undefined,
): Promise<{ at: number; id: number } | undefined> {
  if (token === undefined || token === "") return undefined;
  const parsed = positionSchema.safeParse(await unseal(env, token));
  if (!parsed.success || parsed.data.list !== list) throw invalid("Invalid next_page token");
  return { at: parsed.data.at, id: parsed.data.id };
}

/** Quay's `limit` of the superuser's listings: optional, at most 100 (more is refused). */
export const listingPageQuery = {
  limit: z.coerce.number().int().positive().optional(),
  next_page: z.string().optional(),
};

/** The page a listing query asks for: `limit`, and the id its `next_page` token continues after. */
export async function listingPage(
  env: { WHARF_SECRET_KEY?: string },
  list: string,
  query: { limit?: number; next_page?: string },
): Promise<{ limit?: number; after?: number }> {
  if (query.limit !== undefined && query.limit > 100) throw invalid("Page limit cannot be above 100");
  return { limit: query.limit, after: await decodePageToken(env, list, query.next_page) };
}

/** `{next_page}` when a paged listing filled its page (more may follow), else nothing. */
export async function nextPageOf(
  env: { WHARF_SECRET_KEY?: string },
  list: string,
  rows: readonly { id: number }[],
  limit: number | undefined,
): Promise<{ next_page?: string }> {
  const last = rows.at(-1);
  if (limit === undefined || rows.length < limit || !last) return {};
  return { next_page: await encodePageToken(env, list, last.id) };
}
