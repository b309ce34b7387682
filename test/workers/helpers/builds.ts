/**
 * Fixtures of the build tests (test/workers/builds/*.test.ts): the organization `buildco` owned by
 * bob with its private repository `buildco/app` (rita reads it, will writes it, otto is a
 * stranger) and the robot `buildco+puller`; the build's job row and the handler's context (a build
 * job is leased with ./connectors.ts `leaseOpenJob`).
 */
import { env } from "cloudflare:workers";
import { and, eq } from "drizzle-orm";
import type { JobContext } from "../../../src/connector/job-kinds";
import { connectorJobs } from "../../../src/db/schema";
import { db, makeUser, tokenFor } from "./accounts";
import { api, createPrivateRepository, fixtureCall, initializeAdmin } from "./api";
import { testEvents } from "./events";

export interface BuildAccounts {
  admin: string;
  bob: string;
  rita: string;
  will: string;
  otto: string;
  ritaPassword: string;
}

export const REPO = "buildco/app";

export async function makeBuildAccounts(): Promise<BuildAccounts> {
  const admin = await initializeAdmin();
  const passwords: Record<string, string> = {};
  for (const name of ["bob", "rita", "will", "otto"]) passwords[name] = await makeUser(admin, name);
  const [bob, rita, will, otto] = await Promise.all(["bob", "rita", "will", "otto"].map((n) => tokenFor(n)));
  await fixtureCall(bob!, "POST", "/organization/", { name: "buildco", email: "buildco@example.com" });
  await createPrivateRepository(bob!, "buildco", "app");
  await fixtureCall(bob!, "PUT", `/repository/${REPO}/permissions/user/rita`, { role: "read" });
  await fixtureCall(bob!, "PUT", `/repository/${REPO}/permissions/user/will`, { role: "write" });
  await fixtureCall(bob!, "PUT", "/organization/buildco/robots/puller", {});
  return { admin, bob: bob!, rita: rita!, will: will!, otto: otto!, ritaPassword: passwords.rita! };
}

/** Requests a build of `repo` as `token` from an archive URL; the answer. */
export const requestArchiveBuild = (token: string, body: Record<string, unknown> = {}, repo = REPO) =>
  api("POST", `/repository/${repo}/build/`, {
    token,
    body: { archive_url: "https://example.com/context.tar.gz", ...body },
  });

/** The context a connector's call gives the handler. */
export const jobContext = (): JobContext => ({
  env,
  origin: "http://registry.test",
  scope: testEvents({ actor: { kind: "anonymous" }, ip: "203.0.113.9" }),
});

/** The build job's row. */
export const buildJob = (uuid: string) =>
  db()
    .select()
    .from(connectorJobs)
    .where(and(eq(connectorJobs.kind, "build"), eq(connectorJobs.subject, uuid)))
    .get();
