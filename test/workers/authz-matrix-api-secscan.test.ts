/**
 * The /api/v1 authorization matrix, security scans: `…/manifest/{manifestref}/security` (Quay
 * `endpoints/api/secscan.py`), on the Worker with FEATURE_SECURITY_SCANNER on (wrangler.toml keeps
 * it off, as Quay), against every kind of caller (test/workers/authz-matrix-api/harness.ts).
 *
 * As Quay's `require_repo_read`: repo:read and the pull right; anyone who may not pull the private
 * repository gets 404, as for a missing one, while anyone (anonymous included) reads the public
 * repository's scan. Superusers hold no repository access here, as on the other manifest routes.
 */
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { manifestScans } from "../../src/db/schema";
import { db, pushTaggedAs } from "./helpers/accounts";
import { type Ctx, defineMatrix, PRIVATE, PUBLIC, REPO_READERS, type Route } from "./authz-matrix-api/harness";
import { eq } from "drizzle-orm";

const workerEnv = { ...env, FEATURE_SECURITY_SCANNER: "true" } as unknown as Env;

/** A one-layer image pushed to `name` as the organization's admin (scanner off: no row yet); its digest. */
const pushImage = (name: string) => pushTaggedAs("owner", name, "scanned");

let fixture: Promise<{ digest: string; publicDigest: string }> | undefined;
const fixtures = () => {
  fixture ??= (async () => ({ digest: await pushImage(PRIVATE), publicDigest: await pushImage(PUBLIC) }))();
  return fixture;
};

/** What the public repository's scan answers this caller: anyone reads it, tokens need repo:read. */
function publicStatus(ctx: Ctx): number {
  if (ctx.caller.kind === "refused") return 401;
  if (ctx.caller.kind === "unscoped") return 403;
  return 200;
}

const scanRow = (digest: string) => db().select().from(manifestScans).where(eq(manifestScans.digest, digest)).get();

const ROUTES: Record<string, Route> = {
  "GET /repository/:repository{.+}/manifest/:manifestref/security": {
    scope: "repo:read",
    allow: REPO_READERS,
    ok: 200,
    denied: 404,
    anonymous: 404,
    env: workerEnv,
    run: async (ctx) => {
      const { digest, publicDigest } = await fixtures();
      const res = await ctx.send(`/repository/${PRIVATE}/manifest/${digest}/security?vulnerabilities=true`);
      const pub = await ctx.send(`/repository/${PUBLIC}/manifest/${publicDigest}/security`);
      const publicRead = async () =>
        expect(pub.status, `the public repository as ${ctx.caller.name}`).toBe(publicStatus(ctx));
      return {
        res,
        effect: async () => {
          // The first reader's call queued the scan (the backfill); every reader sees it queued.
          expect(res.json).toEqual({ status: "queued", data: null });
          expect(await scanRow(digest)).toMatchObject({ status: "queued" });
          await publicRead();
        },
        unchanged: publicRead,
      };
    },
  },
};

defineMatrix("secscan", ROUTES);
