/**
 * Tabs kept in the URL's `?tab=` (Quay's `/repository/ns/name?tab=tags`), so a link opens the same
 * tab. Arrow keys move between tabs (WAI-ARIA tabs pattern).
 */
import { useEffect, type KeyboardEvent } from "react";
import { navigate, useLocation, withParam } from "../router";

export interface TabSpec {
  id: string;
  label: string;
  /** Hidden tabs are not offered (e.g. settings without admin rights). */
  hidden?: boolean;
}

/** The selected tab: `?tab=` when it names an offered tab, else the first. */
export function useTab(tabs: TabSpec[]): string {
  const location = useLocation();
  const wanted = location.search.get("tab");
  const offered = tabs.filter((t) => !t.hidden);
  return offered.find((t) => t.id === wanted)?.id ?? offered[0]?.id ?? "";
}

export function Tabs({ tabs, label }: { tabs: TabSpec[]; label: string }) {
  const location = useLocation();
  const selected = useTab(tabs);
  const offered = tabs.filter((t) => !t.hidden);
  // On a narrow screen the tab row scrolls sideways: keep the selected tab in view.
  useEffect(() => {
    document.getElementById(`tab-${selected}`)?.scrollIntoView({ block: "nearest", inline: "nearest" });
  }, [selected]);
  const go = (id: string) => navigate(withParam(location, "tab", id), { replace: true });
  const key = (event: KeyboardEvent<HTMLButtonElement>, index: number) => {
    const step = event.key === "ArrowRight" ? 1 : event.key === "ArrowLeft" ? -1 : 0;
    if (!step) return;
    event.preventDefault();
    const next = offered[(index + step + offered.length) % offered.length]!;
    go(next.id);
    document.getElementById(`tab-${next.id}`)?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {offered.map((tab, index) => (
        <button
          key={tab.id}
          id={`tab-${tab.id}`}
          type="button"
          role="tab"
          aria-selected={tab.id === selected}
          aria-controls={`panel-${tab.id}`}
          tabIndex={tab.id === selected ? 0 : -1}
          className={tab.id === selected ? "tab tab-active" : "tab"}
          onClick={() => go(tab.id)}
          onKeyDown={(event) => key(event, index)}
        >
          {tab.label}
        </button>
      ))}
    </div>
  );
}

export function TabPanel({ id, children }: { id: string; children: React.ReactNode }) {
  return (
    <section id={`panel-${id}`} role="tabpanel" aria-labelledby={`tab-${id}`} className="tab-panel">
      {children}
    </section>
  );
}
