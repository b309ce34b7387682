/** The quota's size as a number and a binary unit (Quay's UI offers MiB to TiB), sent as `limit_bytes`. */
import { useState } from "react";
import { SelectField, TextField } from "../../components/fields";

const UNITS = [
  { value: String(1024 ** 2), label: "MiB" },
  { value: String(1024 ** 3), label: "GiB" },
  { value: String(1024 ** 4), label: "TiB" },
];

/** 10737418240 → ["10", GiB]: the largest unit that writes the size as a whole or short number. */
function split(bytes: number | null): [string, string] {
  if (!bytes) return ["", UNITS[1]!.value];
  for (const unit of [...UNITS].reverse()) {
    const size = bytes / Number(unit.value);
    if (size >= 1 && Number.isInteger(Math.round(size * 100) / 100)) return [String(size), unit.value];
  }
  return [String(Math.round((bytes / 1024 ** 2) * 100) / 100), UNITS[0]!.value];
}

export function QuotaSizeForm({
  bytes,
  busy,
  removing,
  onSubmit,
  onRemove,
}: {
  bytes: number | null;
  busy: boolean;
  removing: boolean;
  onSubmit: (bytes: number) => void;
  onRemove?: () => void;
}) {
  const [initialSize, initialUnit] = split(bytes);
  const [size, setSize] = useState(initialSize);
  const [unit, setUnit] = useState(initialUnit);
  const total = Math.round(Number(size) * Number(unit));
  const valid = Number(size) > 0 && Number.isSafeInteger(total);
  return (
    <form
      onSubmit={(event) => {
        event.preventDefault();
        if (valid) onSubmit(total);
      }}
    >
      <div className="inline-fields">
        <TextField
          label="Quota size"
          type="number"
          min={0}
          step="any"
          required
          value={size}
          onChange={(e) => setSize(e.target.value)}
        />
        <SelectField label="Size unit" value={unit} onChange={(e) => setUnit(e.target.value)} options={UNITS} />
      </div>
      <button type="submit" className="btn btn-primary" disabled={busy || !valid}>
        {bytes ? "Change quota" : "Set quota"}
      </button>{" "}
      {onRemove ? (
        <button type="button" className="btn" disabled={removing} onClick={onRemove}>
          Remove quota
        </button>
      ) : null}
    </form>
  );
}
