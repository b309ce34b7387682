/**
 * A small router over the History API: Quay's URLs (`/repository/{namespace}/{name}?tab=tags`, …)
 * are the app's state, so bookmarks and shared links open the same screen. `routes.tsx` maps
 * paths to screens; screens read `useLocation()` and move with `navigate()` or `<Link>`.
 */
import { createContext, useContext, useEffect, useState, type AnchorHTMLAttributes, type MouseEvent } from "react";

export interface Location {
  pathname: string;
  search: URLSearchParams;
  /** pathname + search, as written in the address bar. */
  href: string;
}

const read = (): Location => ({
  pathname: window.location.pathname,
  search: new URLSearchParams(window.location.search),
  href: window.location.pathname + window.location.search,
});

const LocationContext = createContext<Location>(read());
const EVENT = "wharf:navigate";

/** Goes to `to` (a same-origin path with its query) without reloading. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (options.replace) history.replaceState(null, "", to);
  else history.pushState(null, "", to);
  window.dispatchEvent(new Event(EVENT));
  if (!options.replace) window.scrollTo(0, 0);
}

/** The same path with one query parameter set (or removed with null), e.g. a tab. */
export function withParam(location: Location, name: string, value: string | null): string {
  const search = new URLSearchParams(location.search);
  if (value === null) search.delete(name);
  else search.set(name, value);
  const query = search.toString();
  return location.pathname + (query ? `?${query}` : "");
}

export function LocationProvider({ children }: { children: React.ReactNode }) {
  const [location, setLocation] = useState(read);
  useEffect(() => {
    const update = () => setLocation(read());
    window.addEventListener("popstate", update);
    window.addEventListener(EVENT, update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener(EVENT, update);
    };
  }, []);
  return <LocationContext.Provider value={location}>{children}</LocationContext.Provider>;
}

export const useLocation = () => useContext(LocationContext);

/** An <a> that navigates inside the app (a modified click still opens a new tab). */
export function Link({ to, onClick, ...rest }: { to: string } & AnchorHTMLAttributes<HTMLAnchorElement>) {
  const click = (event: MouseEvent<HTMLAnchorElement>) => {
    onClick?.(event);
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey
    )
      return;
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={click} {...rest} />;
}

/** A route's pattern: `:name` matches one segment, `*rest` the remainder (one or more segments). */
export function match(pattern: string, pathname: string): Record<string, string> | null {
  const parts = pattern.split("/").filter(Boolean);
  const segments = pathname.split("/").filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part.startsWith("*")) {
      if (i >= segments.length) return null;
      params[part.slice(1)] = segments.slice(i).map(decodeURIComponent).join("/");
      return params;
    }
    const segment = segments[i];
    if (segment === undefined) return null;
    if (part.startsWith(":")) params[part.slice(1)] = decodeURIComponent(segment);
    else if (part !== segment) return null;
  }
  return segments.length === parts.length ? params : null;
}
