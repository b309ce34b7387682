/**
 * A table row's actions behind one button (Quay's kebab menu), as a disclosure: the button says
 * whose actions it opens, the list is plain buttons in tab order, Escape or a click elsewhere closes it.
 */
import { useEffect, useRef, useState } from "react";

export interface RowAction {
  label: string;
  onSelect: () => void;
  danger?: boolean;
  hidden?: boolean;
}

export function RowActions({ label, actions }: { label: string; actions: RowAction[] }) {
  const [open, setOpen] = useState(false);
  const wrap = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!open) return;
    const outside = (event: MouseEvent) => {
      if (!wrap.current?.contains(event.target as Node)) setOpen(false);
    };
    // Escape closes the list (and not a dialog behind it), giving focus back to the button.
    const onEscape = (event: KeyboardEvent) => {
      if (event.key !== "Escape") return;
      event.stopPropagation();
      setOpen(false);
      wrap.current?.querySelector("button")?.focus();
    };
    document.addEventListener("mousedown", outside);
    wrap.current?.addEventListener("keydown", onEscape);
    const node = wrap.current;
    return () => {
      document.removeEventListener("mousedown", outside);
      node?.removeEventListener("keydown", onEscape);
    };
  }, [open]);
  const offered = actions.filter((a) => !a.hidden);
  if (offered.length === 0) return null;
  return (
    <div className="su-row-actions" ref={wrap}>
      <button type="button" className="btn" aria-label={label} aria-expanded={open} onClick={() => setOpen((o) => !o)}>
        Actions ▾
      </button>
      {open ? (
        <ul className="menu">
          {offered.map((action) => (
            <li key={action.label}>
              <button
                type="button"
                className={action.danger ? "btn-plain su-danger" : "btn-plain"}
                onClick={() => {
                  setOpen(false);
                  action.onSelect();
                }}
              >
                {action.label}
              </button>
            </li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}
