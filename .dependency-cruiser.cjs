/**
 * The dependency rules `npm run lint` enforces (dependency-cruiser): imports point down, from the
 * routes (src/routes, with the two protocol error renderers src/routes/v2/errors.ts and
 * src/routes/api/errors.ts; src/middleware; src/app.ts and the Worker's entry src/index.ts) to the
 * domain (src/registry, src/identity, src/gc, src/queues, src/events, src/notifications, src/mail, src/proxy, src/mirror, src/quota,
 * src/builds, src/secscan, src/connector, src/fairuse,
 * the domain errors in src/errors, durable-objects) to storage and helpers (src/storage, src/db, src/lib,
 * src/config.ts, src/env.ts), never up and never in a circle.
 * TypeScript 7 has no compiler API, so the sources are parsed with swc.
 */
const ROUTES = "^src/(routes|middleware)/|^src/(app|index)\\.ts$";
const DOMAIN =
  "^src/(registry|identity|gc|queues|events|errors|notifications|mail|proxy|mirror|upstream|quota|builds|secscan|connector|metrics|fairuse)/|^durable-objects/";
const BELOW_DOMAIN = "^src/(storage|db|lib)/|^src/(config|env)\\.ts$";

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "An import circle ties modules together so that none can be read, tested or moved alone.",
      from: {},
      to: { circular: true },
    },
    {
      name: "domain-not-up",
      severity: "error",
      comment: "The domain knows nothing of HTTP: it never imports routes, middleware or a protocol's error JSON.",
      from: { path: DOMAIN },
      to: { path: ROUTES },
    },
    {
      name: "storage-not-up",
      severity: "error",
      comment: "Storage and helpers sit below everything: they import neither the domain nor the routes.",
      from: { path: BELOW_DOMAIN },
      to: { path: [ROUTES, DOMAIN] },
    },
    {
      name: "not-to-tests",
      severity: "error",
      comment: "Production code never imports test code.",
      from: { path: "^(src|durable-objects)/" },
      to: { path: "^test/" },
    },
  ],
  options: {
    parser: "swc",
    tsPreCompilationDeps: true,
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^worker-configuration\\.d\\.ts$" },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
