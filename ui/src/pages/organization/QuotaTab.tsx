/**
 * An organization's storage quota (Quay's "Quota" settings): how much it holds against its limit
 * as a bar, the quota and its Warning/Reject limits. As in Quay, only a superuser sets, changes or
 * removes them (`POST|PUT|DELETE /organization/{org}/quota…` need super:user); the organization's
 * own admins see them read-only.
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { ConfirmDialog } from "../../components/Modal";
import { useSession } from "../../session";
import { QuotaLimits } from "./QuotaLimits";
import { QuotaSizeForm } from "./QuotaSizeForm";
import { QuotaUsage } from "./QuotaUsage";
import type { OrganizationTabProps } from "./types";
import "./org-more.css";

export interface QuotaLimit {
  id: number;
  type: "Warning" | "Reject";
  limit_percent: number;
}

/** Quay's `quota_view`; `default_config` marks the registry's default standing in for none. */
export interface QuotaView {
  id: number | null;
  limit_bytes: number;
  limit: string;
  default_config: boolean;
  limits: QuotaLimit[];
}

interface SuperuserOrganizations {
  organizations: { name: string; quota_report?: { quota_bytes: number } }[];
}

export default function QuotaTab({ org, orgname, reload }: OrganizationTabProps) {
  const base = `/organization/${seg(orgname)}/quota`;
  const { user } = useSession();
  const superuser = !!user?.super_user;
  const quotas = useApi<QuotaView[]>(base);
  // A superuser who is not a member is not shown the organization's usage; the superuser listing has it.
  const listing = useApi<SuperuserOrganizations>(superuser && !org.quota_report ? "/superuser/organizations" : null);
  const toast = useToast();
  const create = useMutation((limit_bytes: number) => api("POST", base, { body: { limit_bytes } }));
  const resize = useMutation((id: number, limit_bytes: number) =>
    api("PUT", `${base}/${id}`, { body: { limit_bytes } }),
  );
  const remove = useMutation((id: number) => api("DELETE", `${base}/${id}`));
  const [confirmRemove, setConfirmRemove] = useState(false);

  const changed = (message: string) => {
    toast(message);
    quotas.reload();
    reload();
    listing.reload();
  };

  if (quotas.error?.status === 404) return <EmptyState title="Quotas are turned off on this registry" />;
  if (quotas.error) return <ErrorBanner error={quotas.error} />;
  if (!quotas.data) return <Spinner label="Loading quota" />;

  const quota = quotas.data.find((q) => !q.default_config) ?? null;
  const systemDefault = quotas.data.find((q) => q.default_config) ?? null;
  const shown = quota ?? systemDefault;
  const used =
    org.quota_report?.quota_bytes ??
    listing.data?.organizations.find((o) => o.name === orgname)?.quota_report?.quota_bytes ??
    null;

  return (
    <div className="org-more">
      <h2>Quota</h2>
      <QuotaUsage used={used} quota={shown} />
      {!superuser ? (
        <p className="banner banner-info">
          Only a superuser can set or change an organization's quota and its limits; they are shown here read-only.
        </p>
      ) : null}
      {shown?.default_config ? (
        <p className="hint">No quota of its own: the registry's default quota applies ({shown.limit}).</p>
      ) : null}
      {!quota && !superuser && !systemDefault ? <EmptyState title="No quota is set" /> : null}
      {superuser ? (
        <section className="card" aria-labelledby="quota-size-title">
          <h3 id="quota-size-title">{quota ? "Change the quota" : "Set a quota"}</h3>
          <ErrorBanner error={create.error ?? resize.error ?? remove.error} />
          <QuotaSizeForm
            key={quota?.limit_bytes ?? "new"}
            bytes={quota?.limit_bytes ?? null}
            busy={create.busy || resize.busy}
            onSubmit={async (bytes) => {
              const done = quota ? await resize.run(quota.id!, bytes) : await create.run(bytes);
              if (done !== undefined) changed(quota ? "Quota changed" : "Quota set");
            }}
            onRemove={quota ? () => setConfirmRemove(true) : undefined}
            removing={remove.busy}
          />
        </section>
      ) : null}
      {quota ? (
        <QuotaLimits base={`${base}/${quota.id}`} limits={quota.limits} editable={superuser} onChanged={changed} />
      ) : null}
      <ConfirmDialog
        open={confirmRemove}
        title="Remove quota"
        message={`Remove ${orgname}'s quota and its limits? Pushes are then limited only by the registry's default.`}
        confirmLabel="Remove quota"
        busy={remove.busy}
        onConfirm={async () => {
          if (quota && (await remove.run(quota.id!)) !== undefined) {
            setConfirmRemove(false);
            changed("Quota removed");
          }
        }}
        onClose={() => setConfirmRemove(false)}
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </div>
  );
}
