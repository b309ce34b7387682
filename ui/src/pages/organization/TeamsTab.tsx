/**
 * The Teams and membership tab: Quay's "Team View" (each team with its role, member and repository
 * counts, from `GET /api/v1/organization/{org}`), and for admins the "Members View" and
 * "Collaborators View". Admins create a team (`PUT …/team/{team}` with role and description),
 * change a team's role and delete it; every team the viewer may see links to its page.
 */
import { useState, type FormEvent } from "react";
import { api, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { ConfirmDialog, Modal } from "../../components/Modal";
import { Link } from "../../router";
import { nameProblem } from "./CreateOrganization";
import { OrganizationMembers } from "./OrganizationMembers";
import { roleLabel, TEAM_ROLE_HELP, TEAM_ROLES, teamsOf, type TeamSummary } from "./TeamRoles";
import type { OrganizationTabProps } from "./types";
import "./organization.css";

type View = "teams" | "members" | "collaborators";

const VIEWS: { id: View; label: string }[] = [
  { id: "teams", label: "Team view" },
  { id: "members", label: "Members view" },
  { id: "collaborators", label: "Collaborators view" },
];

const teamPath = (org: string, team: string) => `/organization/${seg(org)}/team/${seg(team)}`;

export default function TeamsTab({ org, orgname, reload }: OrganizationTabProps) {
  const toast = useToast();
  const admin = !!org.is_admin;
  const [view, setView] = useState<View>("teams");
  const [creating, setCreating] = useState(false);
  const [deleting, setDeleting] = useState<string | null>(null);
  const teams = teamsOf(org);

  const changeRole = useMutation(async (team: TeamSummary, role: string) => {
    await api("PUT", teamPath(orgname, team.name), { body: { role, description: team.description } });
    return role;
  });
  const remove = useMutation((name: string) => api("DELETE", teamPath(orgname, name)));

  return (
    <section aria-labelledby="teams-heading">
      <div className="toolbar">
        <h2 id="teams-heading" className="visually-hidden">
          Teams and membership
        </h2>
        {admin ? (
          <fieldset className="org-views">
            <legend className="visually-hidden">Show</legend>
            {VIEWS.map((v) => (
              <button
                key={v.id}
                type="button"
                className={view === v.id ? "btn btn-primary" : "btn"}
                aria-pressed={view === v.id}
                onClick={() => setView(v.id)}
              >
                {v.label}
              </button>
            ))}
          </fieldset>
        ) : null}
        {admin && view === "teams" ? (
          <button type="button" className="btn btn-primary" onClick={() => setCreating(true)}>
            Create new team
          </button>
        ) : null}
      </div>

      {view !== "teams" ? <OrganizationMembers orgname={orgname} view={view} /> : null}

      {view === "teams" ? (
        <>
          <ErrorBanner error={changeRole.error} title="Changing the role" />
          <ErrorBanner error={remove.error} title="Deleting the team" />
          {teams.length === 0 ? <EmptyState title="No teams to show" /> : null}
          {teams.length ? (
            <div className="table-wrap org-table-wrap">
              <table className="data">
                <caption className="visually-hidden">Teams</caption>
                <thead>
                  <tr>
                    <th scope="col">Team name</th>
                    <th scope="col">Members</th>
                    <th scope="col">Repositories</th>
                    <th scope="col">Team role</th>
                    {admin ? (
                      <th scope="col">
                        <span className="visually-hidden">Actions</span>
                      </th>
                    ) : null}
                  </tr>
                </thead>
                <tbody>
                  {teams.map((team) => {
                    const canView = admin || team.can_view;
                    return (
                      <tr key={team.name} data-team={team.name}>
                        <td>
                          {canView ? (
                            <Link to={`/organization/${seg(orgname)}/teams/${seg(team.name)}`}>{team.name}</Link>
                          ) : (
                            team.name
                          )}
                          {team.description ? <div className="org-muted">{team.description}</div> : null}
                        </td>
                        <td>{team.member_count ?? "—"}</td>
                        <td>{team.repo_count ?? "—"}</td>
                        <td>
                          {admin ? (
                            <label className="org-inline-select">
                              <span className="visually-hidden">Role of team {team.name}</span>
                              <select
                                value={team.role}
                                disabled={changeRole.busy}
                                onChange={async (e) => {
                                  const done = await changeRole.run(team, e.target.value);
                                  if (done) {
                                    toast(`Team ${team.name} is now ${roleLabel(done)}`);
                                    reload();
                                  }
                                }}
                              >
                                {TEAM_ROLES.map((r) => (
                                  <option key={r.value} value={r.value}>
                                    {r.label}
                                  </option>
                                ))}
                              </select>
                            </label>
                          ) : (
                            roleLabel(team.role)
                          )}
                        </td>
                        {admin ? (
                          <td>
                            <div className="org-actions">
                              <button
                                type="button"
                                className="btn btn-danger"
                                aria-label={`Delete team ${team.name}`}
                                onClick={() => setDeleting(team.name)}
                              >
                                Delete
                              </button>
                            </div>
                          </td>
                        ) : null}
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ) : null}
        </>
      ) : null}

      <CreateTeamDialog
        open={creating}
        orgname={orgname}
        existing={teams.map((t) => t.name)}
        onClose={() => setCreating(false)}
        onCreated={(name) => {
          setCreating(false);
          toast(`Team ${name} created`);
          reload();
        }}
      />
      <ConfirmDialog
        open={deleting !== null}
        title="Delete team"
        message={`Delete the team ${deleting ?? ""}? Its members lose the permissions it gives them.`}
        busy={remove.busy}
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          const name = deleting!;
          setDeleting(null);
          if ((await remove.run(name)) !== undefined) {
            toast(`Team ${name} deleted`);
            reload();
          }
        }}
      />
    </section>
  );
}

function CreateTeamDialog({
  open,
  orgname,
  existing,
  onClose,
  onCreated,
}: {
  open: boolean;
  orgname: string;
  existing: string[];
  onClose: () => void;
  onCreated: (name: string) => void;
}) {
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [role, setRole] = useState("member");
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation((team: string, body: { role: string; description: string }) =>
    api<{ new_team?: boolean }>("PUT", teamPath(orgname, team), { body }),
  );
  const close = () => {
    setName("");
    setDescription("");
    setRole("member");
    setProblem(null);
    create.clear();
    onClose();
  };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const team = name.trim();
    const wrong =
      nameProblem(team, "team") ?? (existing.includes(team) ? `A team named ${team} already exists.` : null);
    setProblem(wrong);
    if (wrong) return;
    const answer = await create.run(team, { role, description: description.trim() });
    if (!answer) return;
    // PUT also updates an existing team; Quay's UI refuses to "create" one that is there already.
    if (answer.new_team === false) {
      setProblem(`A team named ${team} already exists; its role and description were updated.`);
      return;
    }
    close();
    onCreated(team);
  };
  return (
    <Modal title="Create new team" open={open} onClose={close}>
      <form onSubmit={submit} noValidate className="org-form">
        <TextField label="Team name" required value={name} onChange={(e) => setName(e.target.value)} />
        <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
        <SelectField label="Team role" options={TEAM_ROLES} value={role} onChange={(e) => setRole(e.target.value)} />
        <p className="hint">{TEAM_ROLE_HELP}</p>
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
            {create.busy ? "Creating…" : "Create team"}
          </button>
        </div>
      </form>
    </Modal>
  );
}
