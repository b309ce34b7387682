/**
 * `npm run build:pages` (run by `npm run deploy:ui` after `npm run build:ui`): ui/dist copied to
 * dist/pages for Cloudflare Pages (outside ui/, whose changes make `npm start` rebuild the UI), without Vite's manifest (the build's own bookkeeping), plus
 * `_routes.json` and `_headers` generated from the Worker's sources (ui/pages/pages-files.ts).
 */
import { cpSync, existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { headersFile, routesJson } from "../ui/pages/pages-files.ts";

const root = path.dirname(import.meta.dirname);
const built = path.join(root, "ui", "dist");
const out = path.join(root, "dist", "pages");

if (!existsSync(path.join(built, "index.html"))) {
  console.error("ui/dist has no index.html: run npm run build:ui first");
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
cpSync(built, out, { recursive: true, filter: (source) => path.basename(source) !== ".vite" });
writeFileSync(path.join(out, "_routes.json"), `${JSON.stringify(routesJson(), null, 2)}\n`);
writeFileSync(path.join(out, "_headers"), headersFile());
console.log(`Pages output in ${path.relative(root, out)}: ${routesJson().include.length} Worker routes`);
