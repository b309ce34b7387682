/**
 * The connectors' queue as the superuser reads it (`GET /api/v1/superuser/connectors/jobs`): every
 * job, newest first, by state and kind, with its repository's and its connector's names.
 */
import { and, desc, eq, lt, type SQL } from "drizzle-orm";
import type { Db } from "../db/client";
import { type ConnectorJob, connectorJobs, connectors, repositories } from "../db/schema";
import type { JobKind } from "./job-kinds";

export interface JobFilter {
  state?: ConnectorJob["state"];
  kind?: JobKind;
  /** Jobs older than this id (the page's position). */
  before?: number;
  limit: number;
}

export interface ListedJob {
  job: ConnectorJob;
  repository: string | null;
  connector: { uuid: string; name: string } | null;
}

export async function listJobs(db: Db, filter: JobFilter): Promise<ListedJob[]> {
  const where: (SQL | undefined)[] = [
    filter.state === undefined ? undefined : eq(connectorJobs.state, filter.state),
    filter.kind === undefined ? undefined : eq(connectorJobs.kind, filter.kind),
    filter.before === undefined ? undefined : lt(connectorJobs.id, filter.before),
  ];
  const rows = await db
    .select({
      job: connectorJobs,
      repository: repositories.name,
      connectorUuid: connectors.uuid,
      connectorName: connectors.name,
    })
    .from(connectorJobs)
    .leftJoin(repositories, eq(repositories.id, connectorJobs.repositoryId))
    .leftJoin(connectors, eq(connectors.id, connectorJobs.connectorId))
    .where(and(...where))
    .orderBy(desc(connectorJobs.id))
    .limit(filter.limit)
    .all();
  return rows.map((r) => ({
    job: r.job,
    repository: r.repository,
    connector:
      r.connectorUuid === null || r.connectorName === null ? null : { uuid: r.connectorUuid, name: r.connectorName },
  }));
}
