/**
 * Quay's JSON of action logs (data/logs_model/datatypes.py): an entry `{kind, metadata, ip,
 * datetime, performer}` (and `namespace` in the superuser's listing, which spans namespaces), and
 * an aggregated count `{kind, count, datetime}`; dates are Quay's RFC 2822 in UTC.
 */
import { quayDate } from "../identity/app-tokens";
import { avatar } from "../identity/users";
import type { AggregatedCount, LogRow, LogWindow } from "./logs-query";

/** One entry; `withNamespace` adds the namespace it happened in, as Quay's superuser listing does. */
export async function logEntryView(row: LogRow, withNamespace: boolean) {
  const view: Record<string, unknown> = {
    kind: row.kind,
    metadata: JSON.parse(row.metadata),
    ip: row.ip,
    datetime: quayDate(row.datetime),
  };
  if (row.performerName !== null) {
    const isRobot = row.performerKind === "robot";
    view.performer = {
      kind: "user",
      name: row.performerName,
      is_robot: isRobot,
      avatar: await avatar(row.performerName, null, isRobot ? "robot" : "user"),
    };
  }
  // Quay shows the namespace only while its account exists.
  if (withNamespace && row.namespaceName !== null && row.namespaceKind !== null) {
    const kind = row.namespaceKind === "organization" ? "org" : "user";
    view.namespace = { kind, name: row.namespaceName, avatar: await avatar(row.namespaceName, null, kind) };
  }
  return view;
}

/** Quay's answer of a logs listing; `next_page` is added by the route when another page follows. */
export async function logsPageView(window: LogWindow, rows: LogRow[], withNamespace: boolean) {
  return {
    start_time: quayDate(window.startMs),
    end_time: quayDate(window.endMs),
    logs: await Promise.all(rows.map((row) => logEntryView(row, withNamespace))),
  };
}

/** Quay's answer of `aggregatelogs`: each kind's count per day, the day's midnight as its date. */
export function aggregatedView(counts: AggregatedCount[]) {
  return { aggregated: counts.map((c) => ({ kind: c.kind, count: c.count, datetime: quayDate(c.dayMs) })) };
}
