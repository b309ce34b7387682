/**
 * Member names that make a JSON document mean different things to different parsers. RFC 8259
 * §4 only says names SHOULD be unique; parsers differ on duplicates (JavaScript and Go keep the
 * last, others the first or refuse), and Go's encoding/json, which containerd, docker and
 * distribution decode manifests with, matches a struct field case-insensitively (a later
 * `"LAYERS"` overrides `"layers"`). A manifest the registry validated must be the manifest every
 * client reads, so both are refused.
 *
 * One pass over the text, iterative (no recursion, whatever the nesting), each character read a
 * bounded number of times: linear in the document's size.
 */

export interface KeyConflict {
  /** The member name seen second. */
  key: string;
  /** The member name it collides with: the same, or the same but for case. */
  with: string;
}

interface Frame {
  object: boolean;
  /** Names seen so far in this object, exactly and case-folded. */
  names: Set<string> | null;
  folded: Map<string, string> | null;
  /** Whether the next string in this object is a member name. */
  expectName: boolean;
  /** The last member name read in this object (the name of a nested value). */
  lastName: string | null;
}

/**
 * Objects under these member names are maps (`map[string]string` in Go), whose keys clients
 * compare exactly: `"Org.Example"` and `"org.example"` are two annotations, not one.
 */
const MAP_MEMBERS = new Set(["annotations", "labels", "Labels"]);

/** Go's encoding/json folds names (unicode.SimpleFold); upper then lower covers ſ→s and K→k too. */
function fold(name: string): string {
  return name.toUpperCase().toLowerCase();
}

/**
 * The first duplicate member name of `text`, or two member names of one object that differ only
 * by case (outside maps such as `annotations`), or null. `text` must be valid JSON (parse it
 * first): the scan trusts its structure.
 */
export function conflictingKey(text: string): KeyConflict | null {
  const stack: Frame[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = stringEnd(text, i);
      const top = stack.at(-1);
      if (top?.object && top.expectName) {
        const raw = text.slice(i + 1, end);
        // Escapes decoded, so "a" and "\u0061" are the same name, as every parser reads them.
        const name = raw.includes("\\") ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const conflict = record(top, name);
        if (conflict) return conflict;
        top.expectName = false;
        top.lastName = name;
      }
      i = end;
    } else if (c === 0x7b /* { */) {
      const parent = stack.at(-1);
      const isMap = parent?.object === true && parent.lastName !== null && MAP_MEMBERS.has(parent.lastName);
      stack.push({
        object: true,
        names: new Set(),
        folded: isMap ? null : new Map(),
        expectName: true,
        lastName: null,
      });
    } else if (c === 0x5b /* [ */) {
      stack.push({ object: false, names: null, folded: null, expectName: false, lastName: null });
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.object) top.expectName = true;
    }
  }
  return null;
}

function record(frame: Frame, name: string): KeyConflict | null {
  if (frame.names!.has(name)) return { key: name, with: name };
  frame.names!.add(name);
  if (!frame.folded) return null;
  const key = fold(name);
  const earlier = frame.folded.get(key);
  if (earlier !== undefined) return { key: name, with: earlier };
  frame.folded.set(key, name);
  return null;
}

/**
 * The index of the quote closing the string that opens at `start`. A quote is escaped when an odd
 * run of backslashes precedes it; each run is counted once, for the quote that follows it.
 */
function stringEnd(text: string, start: number): number {
  let at = start + 1;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) throw new Error("unterminated string: the text is not valid JSON");
    let backslashes = 0;
    while (text.charCodeAt(quote - 1 - backslashes) === 0x5c /* \ */) backslashes++;
    if (backslashes % 2 === 0) return quote;
    at = quote + 1;
  }
}
