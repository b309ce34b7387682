/**
 * The superuser's Quotas tab: the registry's size, and each namespace's quota and usage (the
 * `quotas` and `quota_report` the superuser's listings carry with FEATURE_QUOTA_MANAGEMENT) as a
 * bar; set, change or remove a quota. Users and organizations page separately, as the API does.
 */
import { useState } from "react";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { formatBytes } from "../../components/format";
import { useFeature } from "../../session";
import { usePagedList } from "./paged";
import { type QuotaTarget, QuotaDialog, RemoveQuotaDialog } from "./quota-dialogs";
import { RegistrySizeCard } from "./RegistrySizeCard";
import { RowActions } from "./RowActions";
import type { SuperuserOrganization, SuperuserUser } from "./types";

interface Row extends QuotaTarget {
  used: number;
  /** The bytes allowed: the namespace's quota, else the registry's default, else null. */
  allowed: number | null;
}

function rowOf(kind: Row["kind"], name: string, n: SuperuserUser | SuperuserOrganization): Row {
  const quota = n.quotas?.find((q) => q.id !== null);
  return {
    kind,
    name,
    quotaId: quota?.id ?? null,
    limitBytes: quota?.limit_bytes ?? null,
    used: n.quota_report?.quota_bytes ?? 0,
    allowed: n.quota_report?.configured_quota ?? null,
  };
}

export function UsageBar({ row }: { row: Row }) {
  const label = `Storage used by ${row.name}`;
  if (row.allowed === null) return <span>{formatBytes(row.used)} used, no quota</span>;
  const share = row.allowed > 0 ? row.used / row.allowed : 1;
  return (
    <div className="su-usage">
      <meter aria-label={label} min={0} max={1} low={0.8} high={0.95} optimum={0} value={Math.min(share, 1)} />
      <span>
        {formatBytes(row.used)} of {formatBytes(row.allowed)} ({Math.round(share * 100)}%)
        {row.quotaId === null ? " · registry default" : ""}
      </span>
    </div>
  );
}

export default function QuotasTab() {
  const enabled = useFeature("QUOTA_MANAGEMENT", true);
  const users = usePagedList<SuperuserUser>("/superuser/users/", "users");
  const orgs = usePagedList<SuperuserOrganization>("/superuser/organizations/", "organizations");
  const [search, setSearch] = useState("");
  const [dialog, setDialog] = useState<{ kind: "set" | "remove"; row: Row } | null>(null);
  const reload = () => {
    users.reload();
    orgs.reload();
  };
  const needle = search.trim().toLowerCase();
  const rows = [
    ...orgs.items.map((o) => rowOf("organization", o.name, o)),
    ...users.items.map((u) => rowOf("user", u.username, u)),
  ].filter((r) => !needle || r.name.includes(needle));
  const loading = users.loading || orgs.loading;

  return (
    <>
      <RegistrySizeCard />
      <section aria-labelledby="su-quotas-title">
        <h2 id="su-quotas-title">Namespace quotas</h2>
        {!enabled ? (
          <EmptyState title="Quota management is off">
            <p>FEATURE_QUOTA_MANAGEMENT is not set on this registry.</p>
          </EmptyState>
        ) : (
          <>
            <div className="toolbar">
              <TextField
                label="Search namespaces"
                type="search"
                value={search}
                onChange={(e) => setSearch(e.target.value)}
              />
            </div>
            <ErrorBanner error={orgs.error} />
            <ErrorBanner error={users.error} />
            {loading ? <Spinner label="Loading namespaces" /> : null}
            {!loading && rows.length === 0 ? <EmptyState title="No namespace matches" /> : null}
            {rows.length ? (
              <div className="table-wrap su-table-wrap">
                <table className="data">
                  <caption className="visually-hidden">Quota and usage of each namespace</caption>
                  <thead>
                    <tr>
                      <th scope="col">Namespace</th>
                      <th scope="col" className="su-wide-only">
                        Kind
                      </th>
                      <th scope="col">Quota</th>
                      <th scope="col">Usage</th>
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {rows.map((row) => (
                      <tr key={`${row.kind}:${row.name}`} data-namespace={row.name}>
                        <td>
                          {row.name}
                          <div className="su-narrow-only">{row.kind === "user" ? "User" : "Organization"}</div>
                        </td>
                        <td className="su-wide-only">{row.kind === "user" ? "User" : "Organization"}</td>
                        <td>{row.limitBytes === null ? "—" : formatBytes(row.limitBytes)}</td>
                        <td>
                          <UsageBar row={row} />
                        </td>
                        <td className="su-actions-cell">
                          <RowActions
                            label={`Quota actions for ${row.name}`}
                            actions={[
                              {
                                label: row.quotaId === null ? "Set quota" : "Change quota",
                                onSelect: () => setDialog({ kind: "set", row }),
                              },
                              {
                                label: "Remove quota",
                                danger: true,
                                hidden: row.quotaId === null,
                                onSelect: () => setDialog({ kind: "remove", row }),
                              },
                            ]}
                          />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : null}
            <div className="su-more-row">
              {orgs.hasMore ? (
                <button type="button" className="btn" disabled={orgs.loadingMore} onClick={orgs.loadMore}>
                  Load more organizations
                </button>
              ) : null}
              {users.hasMore ? (
                <button type="button" className="btn" disabled={users.loadingMore} onClick={users.loadMore}>
                  Load more users
                </button>
              ) : null}
            </div>
          </>
        )}
      </section>
      {dialog?.kind === "set" ? (
        <QuotaDialog target={dialog.row} onClose={() => setDialog(null)} onChanged={reload} />
      ) : null}
      {dialog?.kind === "remove" && dialog.row.quotaId !== null ? (
        <RemoveQuotaDialog
          target={{ ...dialog.row, quotaId: dialog.row.quotaId }}
          onClose={() => setDialog(null)}
          onChanged={reload}
        />
      ) : null}
    </>
  );
}
