/**
 * An organization's default permissions (Quay's permission prototypes,
 * `/api/v1/organization/{org}/prototypes`): "when <anyone | a given user or robot> creates a
 * repository, give <user, robot or team> <read | write | admin>". Listed with the role changeable
 * in place (PUT), created from a form with entity pickers (POST), deleted behind a confirmation.
 */
import { useState, type FormEvent } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { SelectField } from "../../components/fields";
import { ConfirmDialog } from "../../components/Modal";
import { type Entity, EntityPicker, entityKind } from "../../components/EntityPicker";
import { REPOSITORY_ROLES, roleLabel } from "./TeamRoles";
import type { OrganizationTabProps } from "./types";
import "./organization.css";

interface Prototype {
  id: string;
  role: string;
  activating_user: Entity | null;
  delegate: Entity;
}

const CREATOR_KINDS = ["user", "robot"] as const;
const DELEGATE_KINDS = ["user", "robot", "team"] as const;

export default function DefaultPermissionsTab({ orgname }: OrganizationTabProps) {
  const toast = useToast();
  const base = `/organization/${seg(orgname)}/prototypes`;
  const prototypes = useApi<{ prototypes: Prototype[] }>(base);
  const [deleting, setDeleting] = useState<Prototype | null>(null);
  const setRole = useMutation((id: string, role: string) => api("PUT", `${base}/${seg(id)}`, { body: { role } }));
  const remove = useMutation((id: string) => api("DELETE", `${base}/${seg(id)}`));
  const list = prototypes.data?.prototypes ?? [];

  return (
    <section aria-labelledby="defaultpermissions-heading">
      <h2 id="defaultpermissions-heading">Default permissions</h2>
      <p className="org-muted">
        Granted on every repository created in {orgname} from now on, in addition to the creator's own admin role.
      </p>
      <CreatePrototype
        orgname={orgname}
        base={base}
        onCreated={(text) => {
          toast(text);
          prototypes.reload();
        }}
      />
      <ErrorBanner error={prototypes.error} />
      <ErrorBanner error={setRole.error} title="Changing the permission" />
      <ErrorBanner error={remove.error} title="Deleting the default permission" />
      {prototypes.loading && !prototypes.data ? <Spinner label="Loading default permissions" /> : null}
      {prototypes.data && list.length === 0 ? <EmptyState title="No default permissions yet" /> : null}
      {list.length ? (
        <div className="table-wrap org-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Default permissions</caption>
            <thead>
              <tr>
                <th scope="col">Repository creator</th>
                <th scope="col">Applied to</th>
                <th scope="col">Permission</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.map((p) => (
                <tr key={p.id} data-prototype={p.id}>
                  <td>{p.activating_user ? p.activating_user.name : <span className="org-muted">Anyone</span>}</td>
                  <td>
                    {p.delegate.name} <span className="badge">{entityKind(p.delegate)}</span>
                  </td>
                  <td>
                    <label className="org-inline-select">
                      <span className="visually-hidden">Permission for {p.delegate.name}</span>
                      <select
                        value={p.role}
                        disabled={setRole.busy}
                        onChange={async (e) => {
                          const role = e.target.value;
                          if ((await setRole.run(p.id, role)) !== undefined) {
                            toast(`${p.delegate.name} now gets ${roleLabel(role)}`);
                            prototypes.reload();
                          }
                        }}
                      >
                        {REPOSITORY_ROLES.map((r) => (
                          <option key={r.value} value={r.value}>
                            {r.label}
                          </option>
                        ))}
                      </select>
                    </label>
                  </td>
                  <td>
                    <div className="org-actions">
                      <button
                        type="button"
                        className="btn btn-danger"
                        aria-label={`Delete the default permission for ${p.delegate.name}`}
                        onClick={() => setDeleting(p)}
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
      <ConfirmDialog
        open={deleting !== null}
        title="Delete default permission"
        message={`Stop giving ${deleting?.delegate.name ?? ""} a role on new repositories? Repositories created already keep theirs.`}
        busy={remove.busy}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          const p = deleting!;
          setDeleting(null);
          if ((await remove.run(p.id)) !== undefined) {
            toast("Default permission deleted");
            prototypes.reload();
          }
        }}
      />
    </section>
  );
}

function CreatePrototype({
  orgname,
  base,
  onCreated,
}: {
  orgname: string;
  base: string;
  onCreated: (text: string) => void;
}) {
  const [who, setWho] = useState<"anyone" | "user">("anyone");
  const [creator, setCreator] = useState<Entity | null>(null);
  const [delegate, setDelegate] = useState<Entity | null>(null);
  const [role, setRoleValue] = useState("read");
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation((body: unknown) => api("POST", base, { body }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (who === "user" && !creator) return setProblem("Pick the repository creator from the list.");
    if (!delegate) return setProblem("Pick the user, robot or team to give the permission to.");
    setProblem(null);
    const body = {
      role,
      delegate: { name: delegate.name, kind: delegate.kind === "team" ? "team" : "user" },
      activating_user: who === "user" && creator ? { name: creator.name } : null,
    };
    if ((await create.run(body)) === undefined) return;
    onCreated(
      `Default permission created: ${delegate.name} gets ${roleLabel(role)} when ${who === "user" && creator ? creator.name : "anyone"} creates a repository`,
    );
    setDelegate(null);
    setCreator(null);
  };

  return (
    <form className="card" onSubmit={submit} aria-labelledby="create-default-permission">
      <h3 id="create-default-permission">Create default permission</h3>
      <div className="org-sentence">
        <SelectField
          label="When this creates a repository"
          value={who}
          onChange={(e) => setWho(e.target.value as "anyone" | "user")}
          options={[
            { value: "anyone", label: "Anyone" },
            { value: "user", label: "Specific user or robot" },
          ]}
        />
        {who === "user" ? (
          <EntityPicker
            label="Repository creator"
            namespace={orgname}
            kinds={CREATOR_KINDS}
            value={creator}
            onPick={setCreator}
          />
        ) : null}
        <EntityPicker
          label="Applied to"
          namespace={orgname}
          kinds={DELEGATE_KINDS}
          value={delegate}
          onPick={setDelegate}
        />
        <SelectField
          label="Permission"
          value={role}
          onChange={(e) => setRoleValue(e.target.value)}
          options={REPOSITORY_ROLES}
        />
        <button type="submit" className="btn btn-primary" disabled={create.busy}>
          {create.busy ? "Creating…" : "Create default permission"}
        </button>
      </div>
      {problem ? (
        <div className="banner banner-error" role="alert">
          {problem}
        </div>
      ) : null}
      <ErrorBanner error={create.error} />
    </form>
  );
}
