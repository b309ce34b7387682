/**
 * Setting, changing and removing a namespace's quota as a superuser (Quay's
 * `/superuser/{users,organization}/{namespace}/quota[/{quota_id}]`). The size is typed as a
 * number and a binary unit and sent as `limit_bytes`, so no unit is misread.
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { formatBytes } from "../../components/format";
import { ConfirmDialog } from "../../components/Modal";
import { FormDialog } from "./FormDialog";
import { useFreshLogin } from "./fresh-login";

export interface QuotaTarget {
  name: string;
  kind: "user" | "organization";
  quotaId: number | null;
  limitBytes: number | null;
}

const UNITS = [
  { value: String(1024 ** 2), label: "MiB" },
  { value: String(1024 ** 3), label: "GiB" },
  { value: String(1024 ** 4), label: "TiB" },
];

/** The API path of a namespace's quotas: users and organizations each have their own. */
export const quotaPath = (target: QuotaTarget) =>
  `/superuser/${target.kind === "user" ? "users" : "organization"}/${seg(target.name)}/quota`;

/** A size as the largest unit that shows it whole, for the form's first values. */
function splitSize(bytes: number | null): { amount: string; unit: string } {
  if (!bytes) return { amount: "", unit: UNITS[1]!.value };
  for (const unit of [...UNITS].reverse()) {
    const amount = bytes / Number(unit.value);
    if (amount >= 1 && Number.isInteger(amount * 100)) return { amount: String(amount), unit: unit.value };
  }
  return { amount: String(bytes / 1024 ** 2), unit: UNITS[0]!.value };
}

export function QuotaDialog({
  target,
  onClose,
  onChanged,
}: {
  target: QuotaTarget;
  onClose: () => void;
  onChanged: () => void;
}) {
  const fresh = useFreshLogin();
  const toast = useToast();
  const initial = splitSize(target.limitBytes);
  const [amount, setAmount] = useState(initial.amount);
  const [unit, setUnit] = useState(initial.unit);
  const [invalid, setInvalid] = useState<Error>();
  const save = useMutation((limitBytes: number) =>
    fresh(() =>
      target.quotaId === null
        ? api("POST", quotaPath(target), { body: { limit_bytes: limitBytes } })
        : api("PUT", `${quotaPath(target)}/${target.quotaId}`, { body: { limit_bytes: limitBytes } }),
    ),
  );
  const verb = target.quotaId === null ? "Set" : "Change";
  return (
    <FormDialog
      title={`${verb} the quota of ${target.name}`}
      submitLabel={save.busy ? "Saving…" : `${verb} quota`}
      busy={save.busy}
      onClose={onClose}
      onSubmit={async () => {
        const number = Number(amount);
        if (!amount.trim() || !Number.isFinite(number) || number <= 0) {
          setInvalid(new Error("Enter a size greater than zero."));
          return;
        }
        setInvalid(undefined);
        const limitBytes = Math.round(number * Number(unit));
        if ((await save.run(limitBytes)) !== undefined) {
          toast(`Quota of ${target.name} set to ${formatBytes(limitBytes)}`);
          onChanged();
          onClose();
        }
      }}
    >
      <div className="su-size-row">
        <TextField
          label="Quota size"
          type="number"
          min="0"
          step="any"
          inputMode="decimal"
          required
          value={amount}
          onChange={(e) => setAmount(e.target.value)}
        />
        <SelectField label="Unit" options={UNITS} value={unit} onChange={(e) => setUnit(e.target.value)} />
      </div>
      <p className="hint">Pushes that would take {target.name} over its quota are refused.</p>
      <ErrorBanner error={invalid} />
      <ErrorBanner error={save.error} />
    </FormDialog>
  );
}

export function RemoveQuotaDialog({
  target,
  onClose,
  onChanged,
}: {
  target: QuotaTarget & { quotaId: number };
  onClose: () => void;
  onChanged: () => void;
}) {
  const fresh = useFreshLogin();
  const toast = useToast();
  const remove = useMutation(() => fresh(() => api("DELETE", `${quotaPath(target)}/${target.quotaId}`)));
  return (
    <ConfirmDialog
      open
      title={`Remove the quota of ${target.name}?`}
      message={`${target.name} may then grow without limit (or up to the registry's default quota, when one is set).`}
      confirmLabel="Remove quota"
      busy={remove.busy}
      onClose={onClose}
      onConfirm={async () => {
        if ((await remove.run()) !== undefined) {
          toast(`Quota of ${target.name} removed`);
          onChanged();
          onClose();
        }
      }}
    >
      <ErrorBanner error={remove.error} />
    </ConfirmDialog>
  );
}
