/** How screens show state: errors in the API's words, empty lists, progress, and short notices. */
import { createContext, useCallback, useContext, useState } from "react";
import type { ApiFailure } from "../api/client";

/** The API's own error message, announced to screen readers. */
export function ErrorBanner({ error, title }: { error: ApiFailure | Error | undefined | null; title?: string }) {
  if (!error) return null;
  return (
    <div className="banner banner-error" role="alert">
      {title ? <strong>{title}: </strong> : null}
      {error.message}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: React.ReactNode }) {
  return (
    <div className="empty-state">
      <h3>{title}</h3>
      {children ? <div className="empty-state-body">{children}</div> : null}
    </div>
  );
}

export function Spinner({ label = "Loading" }: { label?: string }) {
  return (
    <div className="spinner" role="status" aria-live="polite">
      <span className="spinner-dot" aria-hidden="true" />
      {label}…
    </div>
  );
}

/** A determinate bar when `value` is known (0..1), an indeterminate one otherwise. */
export function Progress({ label, value }: { label: string; value?: number }) {
  return (
    <div className="progress">
      <span>{label}</span>
      <progress aria-label={label} max={1} value={value} />
    </div>
  );
}

interface Toast {
  id: number;
  text: string;
  kind: "success" | "error";
}
const ToastContext = createContext<(text: string, kind?: Toast["kind"]) => void>(() => {});

/** Short notices ("Tag deleted") in a polite live region, gone after a few seconds. */
export function ToastProvider({ children }: { children: React.ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const show = useCallback((text: string, kind: Toast["kind"] = "success") => {
    const id = Date.now() + Math.random();
    setToasts((all) => [...all, { id, text, kind }]);
    setTimeout(() => setToasts((all) => all.filter((t) => t.id !== id)), 5000);
  }, []);
  return (
    <ToastContext.Provider value={show}>
      {children}
      <div className="toasts" aria-live="polite">
        {toasts.map((t) => (
          <div key={t.id} className={`toast toast-${t.kind}`}>
            {t.text}
          </div>
        ))}
      </div>
    </ToastContext.Provider>
  );
}

export const useToast = () => useContext(ToastContext);
