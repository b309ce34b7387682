/**
 * User, robot and team permissions of a repository, as Quay's Settings tab lists them: both lists
 * (`GET …/permissions/user/` and `…/permissions/team/`) read together, a role per row (read, write,
 * admin) changed in place with `PUT …/{name}`, removed with `DELETE` after a confirmation, and a
 * new grant for an entity picked by name.
 */
import { useId, useState } from "react";
import { api, repoPath, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { SelectField } from "../../components/fields";
import { type Entity, EntityPicker } from "../../components/EntityPicker";
import { ConfirmDialog } from "../../components/Modal";
import type { RepositoryTabProps } from "./types";

interface Grant {
  role: string;
  name: string;
  is_robot?: boolean;
}
interface Grants {
  permissions: Record<string, Grant>;
}

const ROLES = [
  { value: "read", label: "Read" },
  { value: "write", label: "Write" },
  { value: "admin", label: "Admin" },
];

type Row = Grant & { kind: "user" | "team" };

export function PermissionsSection({ repo, repository }: RepositoryTabProps) {
  const id = useId();
  const toast = useToast();
  const base = `${repoPath(repository)}/permissions`;
  const users = useApi<Grants>(`${base}/user/`);
  const teams = useApi<Grants>(repo.is_organization === false ? null : `${base}/team/`);
  const [entity, setEntity] = useState<Entity | null>(null);
  const [role, setRole] = useState("read");
  const [removing, setRemoving] = useState<Row | null>(null);

  const pathOf = (kind: "user" | "team", name: string) => `${base}/${kind}/${seg(name)}`;
  const setGrant = useMutation((kind: "user" | "team", name: string, newRole: string) =>
    api("PUT", pathOf(kind, name), { body: { role: newRole } }),
  );
  const remove = useMutation((row: Row) => api("DELETE", pathOf(row.kind, row.name)));
  const reload = () => {
    users.reload();
    teams.reload();
  };

  const rows: Row[] = [
    ...Object.values(teams.data?.permissions ?? {}).map((g) => ({ ...g, kind: "team" as const })),
    ...Object.values(users.data?.permissions ?? {}).map((g) => ({ ...g, kind: "user" as const })),
  ];
  const namespace = repository.split("/")[0] ?? "";

  return (
    <section className="card settings-section" aria-labelledby={id}>
      <h2 id={id}>User, robot and team permissions</h2>
      <ErrorBanner error={users.error ?? teams.error} />
      <ErrorBanner error={setGrant.error} />
      {users.loading && !users.data ? <Spinner label="Loading permissions" /> : null}
      {users.data && rows.length === 0 ? (
        <EmptyState title="No permissions granted">
          <p>Only the namespace's administrators can use this repository.</p>
        </EmptyState>
      ) : null}
      {rows.length ? (
        <div className="table-wrap">
          <table className="data">
            <caption className="visually-hidden">Permissions</caption>
            <thead>
              <tr>
                <th scope="col">Account</th>
                <th scope="col">Type</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((row) => (
                <tr key={`${row.kind}:${row.name}`}>
                  <td>{row.name}</td>
                  <td>{row.kind === "team" ? "Team" : row.is_robot ? "Robot" : "User"}</td>
                  <td className="role-select">
                    <select
                      aria-label={`Role of ${row.name}`}
                      value={row.role}
                      disabled={setGrant.busy}
                      onChange={async (e) => {
                        const chosen = e.target.value;
                        if ((await setGrant.run(row.kind, row.name, chosen)) === undefined) return;
                        toast(`${row.name} now has ${chosen}`);
                        reload();
                      }}
                    >
                      {ROLES.map((r) => (
                        <option key={r.value} value={r.value}>
                          {r.label}
                        </option>
                      ))}
                    </select>
                  </td>
                  <td>
                    <button
                      type="button"
                      className="btn-plain"
                      aria-label={`Remove the permission of ${row.name}`}
                      onClick={() => {
                        remove.clear();
                        setRemoving(row);
                      }}
                    >
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <form
        className="settings-row"
        onSubmit={async (e) => {
          e.preventDefault();
          if (!entity) return;
          const kind = entity.kind === "team" ? "team" : "user";
          if ((await setGrant.run(kind, entity.name, role)) === undefined) return;
          toast(`Granted ${role} to ${entity.name}`);
          setEntity(null);
          reload();
        }}
      >
        <EntityPicker
          label="Add permission for"
          namespace={namespace}
          kinds={repo.is_organization !== false ? ["user", "robot", "team"] : ["user", "robot"]}
          value={entity}
          onPick={setEntity}
        />
        <SelectField label="Role" value={role} options={ROLES} onChange={(e) => setRole(e.target.value)} />
        <button type="submit" className="btn btn-primary" disabled={!entity || setGrant.busy}>
          Add permission
        </button>
      </form>
      <ConfirmDialog
        open={removing !== null}
        title="Remove permission"
        confirmLabel="Remove"
        busy={remove.busy}
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          if (!removing) return;
          if ((await remove.run(removing)) === undefined) return;
          toast(`Removed the permission of ${removing.name}`);
          setRemoving(null);
          reload();
        }}
        message={
          <>
            Remove the {removing?.role} permission of <strong>{removing?.name}</strong> on {repository}?
          </>
        }
      >
        <ErrorBanner error={remove.error} />
      </ConfirmDialog>
    </section>
  );
}
