/**
 * Tag lists page by page (distribution-spec "Listing Tags"): each page a small JSON document
 * `{"name": …, "tags": […]}`, the next one named by a `Link: <…>; rel="next"` header (RFC 8288),
 * relative to the registry. Pages are bounded in size and number, and a next page elsewhere than
 * the registry is refused, so a hostile upstream can neither fill the isolate nor steer requests.
 */
import { z } from "zod";
import { readCapped } from "../lib/outbound";
import { asUpstreamError } from "./failures";
import { UpstreamError } from "./registry";

/** 4 MiB of tag names a page: some 30,000 tags. */
export const TAG_PAGE_MAX_BYTES = 4 * 1024 * 1024;
/** Pages followed before giving up: enough for any real repository, finite for a looping one. */
export const MAX_TAG_PAGES = 100;
/**
 * Tags kept from all pages together: the pages' own bounds allow 100 × 4 MiB of names, more than
 * a 128 MB isolate holds, so an upstream whose list never ends would bring the sync's isolate down.
 * 100,000 names of at most 128 characters stay under 13 MB.
 */
export const MAX_TAGS = 100_000;

const page = z.object({ tags: z.array(z.string()).nullish() });

/** The tags of one page's answer. */
export async function tagsPage(res: Response, what: string): Promise<string[]> {
  const bytes = await readCapped(res, TAG_PAGE_MAX_BYTES).catch((err: unknown) =>
    Promise.reject(asUpstreamError(err, what)),
  );
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    json = null;
  }
  const parsed = page.safeParse(json);
  if (!parsed.success) throw new UpstreamError("protocol", `${what}: not a tag list`);
  return parsed.data.tags ?? [];
}

/**
 * The path and query of the next page, or null at the last one. `current` is the page just read
 * (the base for a relative link), `index` its position.
 */
export function nextPage(link: string | null, current: URL, index: number, what: string): string | null {
  const target = link && /<([^>]*)>\s*;[^,]*\brel="?next"?/i.exec(link)?.[1];
  if (!target) return null;
  if (!URL.canParse(target, current.href)) throw new UpstreamError("protocol", `${what}: a next page that is no URL`);
  const next = new URL(target, current);
  if (next.origin !== current.origin) throw new UpstreamError("protocol", `${what}: a next page on another origin`);
  if (index + 1 >= MAX_TAG_PAGES) throw new UpstreamError("too-large", `${what}: more than ${MAX_TAG_PAGES} pages`);
  return `${next.pathname}${next.search}`;
}
