/** The app: session, notices, the frame and the screen the URL names. */
import { Suspense, useEffect } from "react";
import { Layout } from "./components/Layout";
import { EmptyState, Spinner, ToastProvider } from "./components/feedback";
import { LocationProvider, Link, match, navigate, useLocation } from "./router";
import { ROUTES } from "./routes";
import { SessionProvider, useSession } from "./session";

function Screen() {
  const location = useLocation();
  const { user, loading } = useSession();
  const pathname = location.pathname.replace(/\/+$/, "") || "/";
  const found = ROUTES.map((route) => ({ route, params: match(route.pattern, pathname) })).find((m) => m.params);
  const mustSignIn = !loading && !user && (pathname === "/" || found?.route.signedIn);

  useEffect(() => {
    if (loading) return;
    if (pathname === "/") navigate(user ? "/repository/" : "/signin", { replace: true });
    else if (mustSignIn) navigate(`/signin?redirect=${encodeURIComponent(location.href)}`, { replace: true });
  }, [loading, user, pathname, mustSignIn, location.href]);

  if (loading || pathname === "/" || mustSignIn) return <Spinner />;
  if (!found) {
    return (
      <Layout>
        <EmptyState title="Page not found">
          <p>
            Nothing lives at <code>{location.pathname}</code>. <Link to="/repository/">Go to the repositories</Link>.
          </p>
        </EmptyState>
      </Layout>
    );
  }
  const { route, params } = found;
  const Page = route.screen;
  const page = (
    <Suspense fallback={<Spinner />}>
      {/* A new key per URL path: a screen never shows one repository's data under another's name. */}
      <Page key={pathname} params={params!} />
    </Suspense>
  );
  return route.bare ? <div className="bare">{page}</div> : <Layout>{page}</Layout>;
}

export function App() {
  return (
    <LocationProvider>
      <SessionProvider>
        <ToastProvider>
          <Screen />
        </ToastProvider>
      </SessionProvider>
    </LocationProvider>
  );
}
