/**
 * Registry-wide usage logs (Quay's `listAllLogs` and `listAllAggregateLogs` under `/superuser`).
 * Both need a fresh login, so the tab asks first with a one-day count: when the session's login
 * is stale, it offers the password prompt instead of two refusals in the view.
 */
import { api } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { ErrorBanner, Spinner } from "../../components/feedback";
import { LogsView, quayDate } from "../../components/LogsView";
import { isFreshLoginRequired, useFreshLogin } from "./fresh-login";

const today = () => quayDate(new Date());

export default function LogsTab() {
  const day = today();
  const probe = useApi<unknown>("/superuser/aggregatelogs", { starttime: day, endtime: day });
  const fresh = useFreshLogin();
  const confirm = useMutation(() =>
    fresh(() => api("GET", "/superuser/aggregatelogs", { query: { starttime: day, endtime: day } })),
  );
  if (probe.loading && !probe.data && !probe.error) return <Spinner label="Loading logs" />;
  if (probe.error && isFreshLoginRequired(probe.error)) {
    return (
      <div className="card">
        <p>Reading every namespace's logs needs a recent sign-in.</p>
        <button
          type="button"
          className="btn btn-primary"
          disabled={confirm.busy}
          onClick={async () => {
            if ((await confirm.run()) !== undefined) probe.reload();
          }}
        >
          Confirm your password
        </button>
        <ErrorBanner error={confirm.error} />
      </div>
    );
  }
  // Any other refusal is the view's to show, in the API's words.
  return <LogsView base="/superuser" title="Registry-wide usage logs" />;
}
