/**
 * The web UI's build (`npm run build:ui`): a single-page app from ui/index.html and ui/src into
 * ui/dist, which wrangler.toml's `[assets]` serves and `npm run deploy:ui` uploads to Pages.
 * Hashed files go under /assets/ (immutable, served without the Worker); ui/public is copied as is.
 */
import { defineConfig } from "vite";

export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  publicDir: "public",
  // React's automatic JSX runtime, compiled by Vite's own transform (no plugin: no Fast Refresh
  // is needed for a build).
  oxc: { jsx: { runtime: "automatic" } },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsDir: "assets",
    // The size check (test/workers/ui/bundle-size.test.ts) reads what each entry imports from here.
    manifest: true,
    sourcemap: false,
    target: "es2022",
    chunkSizeWarningLimit: 400,
  },
});
