/** A value to copy (a pull command, a robot token) with a button that says when it has copied. */
import { useId, useState } from "react";

export function CopyField({ label, value, multiline }: { label: string; value: string; multiline?: boolean }) {
  const id = useId();
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
    } catch {
      // Without clipboard permission (an http origin): select the text for Ctrl+C instead.
      (document.getElementById(id) as HTMLInputElement | HTMLTextAreaElement | null)?.select();
    }
    setCopied(true);
    setTimeout(() => setCopied(false), 2000);
  };
  return (
    <div className="copy-field">
      <label htmlFor={id}>{label}</label>
      <div className="copy-field-row">
        {multiline ? (
          <textarea id={id} readOnly value={value} rows={Math.min(12, value.split("\n").length + 1)} />
        ) : (
          <input id={id} readOnly value={value} />
        )}
        <button type="button" className="btn" onClick={copy} aria-label={`Copy ${label}`}>
          {copied ? "Copied" : "Copy"}
        </button>
      </div>
    </div>
  );
}
