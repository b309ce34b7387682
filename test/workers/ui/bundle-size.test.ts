/**
 * The web UI's weight (issue #17, "Fast"): the first screen's JavaScript, gzipped, is at most
 * 200 KB, and every screen of ui/src/routes.tsx is its own lazily loaded chunk. Reads what
 * `npm run build:ui` wrote (ui/dist/.vite/manifest.json and the chunks), which `npm test` and
 * `npm start` build before this runs.
 */
import { describe, expect, it } from "vitest";
import manifestText from "../../../ui/dist/.vite/manifest.json?raw";
import routesSource from "../../../ui/src/routes.tsx?raw";

/** The first screen's JavaScript may weigh this much gzipped (the budget). */
const FIRST_SCREEN_BUDGET = 200 * 1000;

interface Chunk {
  file: string;
  isEntry?: boolean;
  isDynamicEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
}
const manifest = JSON.parse(manifestText) as Record<string, Chunk>;
const chunks = import.meta.glob<string>("../../../ui/dist/assets/*.js", { query: "?raw", import: "default" });

async function gzippedSize(text: string): Promise<number> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return (await new Response(stream).arrayBuffer()).byteLength;
}

/** `key` and every chunk it imports statically, transitively (what loads before it can run). */
function staticClosure(key: string, seen = new Set<string>()): Set<string> {
  if (seen.has(key)) return seen;
  const chunk = manifest[key];
  if (!chunk) throw new Error(`${key} is not in the UI's manifest`);
  seen.add(key);
  for (const imported of chunk.imports ?? []) staticClosure(imported, seen);
  return seen;
}

async function sizeOf(key: string): Promise<number> {
  const load = chunks[`../../../ui/dist/${manifest[key]!.file}`];
  if (!load) throw new Error(`${manifest[key]!.file} is missing from ui/dist: run npm run build:ui`);
  return gzippedSize(await load());
}

const entryKey = Object.keys(manifest).find((key) => manifest[key]!.isEntry)!;
/** The screens routes.tsx loads, as manifest keys (`src/pages/…`). */
const screens = [...routesSource.matchAll(/import\("\.\/(pages\/[^"]+)"\)/g)].map((m) => `src/${m[1]}.tsx`);

describe("the web UI's bundle", () => {
  it("loads at most 200 KB of gzipped JavaScript for the first screen (the shell and the sign-in screen)", async () => {
    const firstScreen = new Set([...staticClosure(entryKey), ...staticClosure("src/pages/signin/SignIn.tsx")]);
    let total = 0;
    for (const key of firstScreen) total += await sizeOf(key);
    console.log(`first screen: ${[...firstScreen].map((k) => manifest[k]!.file).join(", ")}: ${total} bytes gzipped`);
    expect(total).toBeGreaterThan(10_000); // React is in there: the measure measures something.
    // React's production build (its errors are minified), not the development one a build run
    // under NODE_ENV=development or test gives.
    expect(await chunks[`../../../ui/dist/${manifest[entryKey]!.file}`]!()).toContain("Minified React error");
    expect(total).toBeLessThanOrEqual(FIRST_SCREEN_BUDGET);
  });

  it("makes every screen its own lazily loaded chunk, outside the entry's static imports", () => {
    expect(screens.length).toBeGreaterThanOrEqual(10);
    const eager = staticClosure(entryKey);
    const entry = manifest[entryKey]!;
    for (const screen of screens) {
      expect(manifest[screen], screen).toMatchObject({ isDynamicEntry: true });
      expect(entry.dynamicImports, screen).toContain(screen);
      expect(eager.has(screen), `${screen} is loaded with the entry`).toBe(false);
      expect(manifest[screen]!.file).not.toBe(entry.file);
    }
    // No two screens share one chunk.
    const files = screens.map((s) => manifest[s]!.file);
    expect(new Set(files).size).toBe(files.length);
  });
});
