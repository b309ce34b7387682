/**
 * Robot accounts of an organization (`/api/v1/organization/{org}/robots`) or of the signed-in user
 * (`/api/v1/user/robots`), as Quay's Robot accounts tab: the list (with teams and repository
 * permissions, without tokens), create (short name and description), delete, the credentials
 * dialog (token in each client's format, regenerate) and each robot's repository permissions.
 */
import { useState, type FormEvent } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { formatDate } from "../../components/format";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { nameProblem } from "./CreateOrganization";
import { RobotCredentials, shortNameOf, type RobotView } from "./RobotCredentials";
import { RobotPermissions } from "./RobotPermissions";
import type { NamespaceProps } from "./types";
import "./organization.css";

export default function RobotsTab({ namespace, isOrganization }: NamespaceProps) {
  const toast = useToast();
  const base = isOrganization ? `/organization/${seg(namespace)}/robots` : "/user/robots";
  const robots = useApi<{ robots: RobotView[] }>(base, { permissions: true, token: false });
  const [creating, setCreating] = useState(false);
  const [credentials, setCredentials] = useState<RobotView | null>(null);
  const [permissionsOf, setPermissionsOf] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [filter, setFilter] = useState("");
  const remove = useMutation((name: string) => api("DELETE", `${base}/${seg(shortNameOf(name))}`));

  const list = (robots.data?.robots ?? []).filter((r) => r.name.toLowerCase().includes(filter.trim().toLowerCase()));
  return (
    <section aria-labelledby="robots-heading">
      <h2 id="robots-heading" className="visually-hidden">
        Robot accounts
      </h2>
      <div className="toolbar">
        <TextField
          label="Filter robot accounts"
          type="search"
          value={filter}
          onChange={(e) => setFilter(e.target.value)}
        />
        <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
          Create robot account
        </button>
      </div>
      <ErrorBanner error={robots.error} />
      <ErrorBanner error={remove.error} title="Deleting the robot" />
      {robots.loading && !robots.data ? <Spinner label="Loading robot accounts" /> : null}
      {robots.data && robots.data.robots.length === 0 ? (
        <EmptyState title="No robot accounts yet">
          <p>Robot accounts let scripts and clusters pull and push without a person's password.</p>
        </EmptyState>
      ) : null}
      {robots.data && robots.data.robots.length > 0 && list.length === 0 ? (
        <EmptyState title="No robot account matches the filter" />
      ) : null}
      {list.length ? (
        <div className="table-wrap org-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Robot accounts</caption>
            <thead>
              <tr>
                <th scope="col">Robot account name</th>
                {isOrganization ? <th scope="col">Teams</th> : null}
                <th scope="col">Repositories</th>
                <th scope="col">Created</th>
                <th scope="col">Last accessed</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((robot) => (
                <tr key={robot.name} data-robot={robot.name}>
                  <td>
                    <button
                      type="button"
                      className="btn-plain robot-name"
                      aria-label={`Credentials of ${robot.name}`}
                      onClick={() => setCredentials(robot)}
                    >
                      {robot.name}
                    </button>
                    {robot.description ? <div className="org-muted">{robot.description}</div> : null}
                  </td>
                  {isOrganization ? (
                    <td>{robot.teams?.length ? robot.teams.map((t) => t.name).join(", ") : "—"}</td>
                  ) : null}
                  <td>
                    <button type="button" className="btn-plain" onClick={() => setPermissionsOf(robot.name)}>
                      {robot.repositories?.length ?? 0}{" "}
                      {(robot.repositories?.length ?? 0) === 1 ? "repository" : "repositories"}
                      <span className="visually-hidden"> of {robot.name}</span>
                    </button>
                  </td>
                  <td>{formatDate(robot.created)}</td>
                  <td>{robot.last_accessed ? formatDate(robot.last_accessed) : "Never"}</td>
                  <td>
                    <div className="org-actions">
                      <button type="button" className="btn" onClick={() => setCredentials(robot)}>
                        Credentials
                      </button>
                      <button
                        type="button"
                        className="btn btn-danger"
                        aria-label={`Delete ${robot.name}`}
                        onClick={() => setDeleting(robot.name)}
                      >
                        Delete
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}

      <CreateRobotDialog
        open={creating}
        base={base}
        namespace={namespace}
        onClose={() => setCreating(false)}
        onCreated={(robot) => {
          setCreating(false);
          toast(`Robot account ${robot.name} created`);
          robots.reload();
          setCredentials(robot);
        }}
      />
      <RobotCredentials base={base} robot={credentials} onClose={() => setCredentials(null)} />
      <RobotPermissions base={base} robot={permissionsOf} onClose={() => setPermissionsOf(null)} />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete robot account"
        message={`Delete ${deleting ?? ""}? Everything that logs in with its token stops working.`}
        busy={remove.busy}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          const name = deleting!;
          setDeleting(null);
          if ((await remove.run(name)) !== undefined) {
            toast(`Robot account ${name} deleted`);
            robots.reload();
          }
        }}
      />
    </section>
  );
}

function CreateRobotDialog({
  open,
  base,
  namespace,
  onClose,
  onCreated,
}: {
  open: boolean;
  base: string;
  namespace: string;
  onClose: () => void;
  onCreated: (robot: RobotView) => void;
}) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation((short: string, body: { description: string }) =>
    api<RobotView>("PUT", `${base}/${seg(short)}`, { body }),
  );
  const close = () => {
    setName("");
    setDescription("");
    setProblem(null);
    create.clear();
    onClose();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const short = name.trim();
    const wrong = nameProblem(short, "robot");
    setProblem(wrong);
    if (wrong) return;
    const robot = await create.run(short, { description: description.trim() });
    if (!robot) return;
    setName("");
    setDescription("");
    onCreated(robot);
  };
  return (
    <Modal title="Create robot account" open={open} onClose={close}>
      <form onSubmit={submit} noValidate className="org-form">
        <TextField
          label="Robot name"
          required
          value={name}
          onChange={(e) => setName(e.target.value)}
          hint={`The account's name will be ${namespace}+${name.trim() || "name"}.`}
        />
        <TextField
          label="Description"
          value={description}
          maxLength={255}
          onChange={(e) => setDescription(e.target.value)}
        />
        {problem ? (
          <div className="banner banner-error" role="alert">
            {problem}
          </div>
        ) : null}
        <ErrorBanner error={create.error} />
        <div className="org-actions">
          <button type="button" className="btn" onClick={close}>
            Cancel
          </button>
          <button type="submit" className="btn btn-primary" disabled={create.busy}>
            {create.busy ? "Creating…" : "Create robot account"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
