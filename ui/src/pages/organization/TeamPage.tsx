/**
 * `/organization/{org}/teams/{team}`: a team's members with the pending invitations
 * (`GET …/team/{team}/members?includePending=true`), adding a user or one of the organization's
 * robots (`PUT …/members/{name}`: Quay invites a person outside the organization instead when
 * mailing is on), inviting by email (`PUT …/invite/{email}`, with FEATURE_MAILING), removing a
 * member or cancelling an invitation, the team's description, and its repository permissions.
 */
import { useState, type FormEvent } from "react";
import { api, seg } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { PageHeader } from "../../components/Layout";
import { ConfirmDialog } from "../../components/Modal";
import { useFeature, useSession } from "../../session";
import { type Entity, EntityPicker } from "../../components/EntityPicker";
import { TeamPermissions, type Permission } from "./TeamPermissions";
import { roleLabel, teamsOf } from "./TeamRoles";
import type { Organization } from "./types";
import "./organization.css";

interface TeamMember {
  name?: string;
  email?: string;
  kind: string;
  is_robot?: boolean;
  invited?: boolean;
}

const KINDS = ["user", "robot"] as const;

export default function TeamPage({ params }: { params: Record<string, string> }) {
  const orgname = params.orgname ?? "";
  const teamname = params.teamname ?? "";
  const { user } = useSession();
  const toast = useToast();
  const mailing = useFeature("MAILING");
  const base = `/organization/${seg(orgname)}/team/${seg(teamname)}`;
  // The session already says whether the viewer administers the organization, so the three
  // requests start together (the permissions only for admins, who alone may read them).
  const admin = !!user?.organizations?.some((o) => o.name === orgname && o.is_org_admin);
  const org = useApi<Organization>(`/organization/${seg(orgname)}`);
  const members = useApi<{ members: TeamMember[]; can_edit: boolean }>(`${base}/members`, { includePending: true });
  const permissions = useApi<{ permissions: Permission[] }>(admin ? `${base}/permissions` : null);
  const [entity, setEntity] = useState<Entity | null>(null);
  const [email, setEmail] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const [removing, setRemoving] = useState<TeamMember | null>(null);
  const [description, setDescription] = useState<string | null>(null);

  const team = org.data ? teamsOf(org.data).find((t) => t.name === teamname) : undefined;
  const canEdit = !!members.data?.can_edit;
  const add = useMutation((name: string) => api<TeamMember>("PUT", `${base}/members/${seg(name)}`));
  const invite = useMutation((address: string) => api<TeamMember>("PUT", `${base}/invite/${seg(address)}`));
  const remove = useMutation((member: TeamMember) =>
    member.kind === "invite"
      ? api("DELETE", `${base}/invite/${seg(member.email ?? "")}`)
      : api("DELETE", `${base}/members/${seg(member.name ?? "")}`),
  );

  // Quay's PUT takes the role with the description: the team keeps its role.
  const describe = useMutation((role: string, text: string) => api("PUT", base, { body: { role, description: text } }));
  const saveDescription = async (event: FormEvent) => {
    event.preventDefault();
    if (!team || description === null) return;
    if ((await describe.run(team.role, description.trim())) === undefined) return;
    toast("Description saved");
    setDescription(null);
    org.reload();
  };

  const addMember = async (event: FormEvent) => {
    event.preventDefault();
    if (!entity) {
      setProblem("Type a name and pick the user or robot from the list.");
      return;
    }
    setProblem(null);
    const answer = await add.run(entity.name);
    if (!answer) return;
    toast(answer.invited ? `${entity.name} was invited to the team` : `${entity.name} added to the team`);
    setEntity(null);
    members.reload();
  };

  const inviteEmail = async (event: FormEvent) => {
    event.preventDefault();
    const address = email.trim();
    if (!/^[^@\s]+@[^@\s]+$/.test(address)) {
      setProblem("Enter an email address to invite.");
      return;
    }
    setProblem(null);
    if (!(await invite.run(address))) return;
    toast(`${address} was invited to the team`);
    setEmail("");
    members.reload();
  };

  const crumbs = [
    { to: "/organization/", label: "Organizations" },
    { to: `/organization/${seg(orgname)}?tab=teams`, label: orgname },
  ];
  const list = members.data?.members ?? [];
  const nameOf = (m: TeamMember) => m.name ?? m.email ?? "";

  if (members.error?.status === 404 || org.error?.status === 404) {
    return (
      <>
        <PageHeader title={teamname} crumbs={crumbs} />
        <EmptyState title="Team not found" />
      </>
    );
  }

  return (
    <>
      <PageHeader title={`Team ${teamname}`} crumbs={crumbs} />
      <ErrorBanner error={org.error} />
      {team && description === null ? (
        <p>
          Role: <strong>{roleLabel(team.role)}</strong>
          {team.description ? ` · ${team.description}` : null}{" "}
          {canEdit ? (
            <button type="button" className="btn-plain" onClick={() => setDescription(team.description ?? "")}>
              Edit description
            </button>
          ) : null}
        </p>
      ) : null}
      {team && description !== null ? (
        <form className="org-sentence" onSubmit={saveDescription}>
          <TextField
            label="Team description"
            value={description}
            maxLength={4096}
            onChange={(e) => setDescription(e.target.value)}
          />
          <button type="submit" className="btn btn-primary" disabled={describe.busy}>
            Save description
          </button>
          <button type="button" className="btn" onClick={() => setDescription(null)}>
            Cancel
          </button>
        </form>
      ) : null}
      <ErrorBanner error={describe.error} title="Saving the description" />

      <section className="org-section" aria-labelledby="team-members">
        <h2 id="team-members">Team members</h2>
        {canEdit ? (
          <div className="card">
            <form className="org-sentence" onSubmit={addMember}>
              <EntityPicker
                label="Add a user or robot"
                namespace={orgname}
                kinds={KINDS}
                value={entity}
                onPick={setEntity}
              />
              <button type="submit" className="btn btn-primary" disabled={add.busy}>
                {add.busy ? "Adding…" : "Add member"}
              </button>
            </form>
            {mailing ? (
              <form className="org-sentence" onSubmit={inviteEmail}>
                <TextField
                  label="Or invite by email"
                  type="email"
                  value={email}
                  onChange={(e) => setEmail(e.target.value)}
                />
                <button type="submit" className="btn" disabled={invite.busy}>
                  {invite.busy ? "Inviting…" : "Invite"}
                </button>
              </form>
            ) : null}
            {problem ? (
              <div className="banner banner-error" role="alert">
                {problem}
              </div>
            ) : null}
            <ErrorBanner error={add.error} />
            <ErrorBanner error={invite.error} />
          </div>
        ) : null}
        <ErrorBanner error={members.error} />
        <ErrorBanner error={remove.error} title="Removing" />
        {members.loading && !members.data ? <Spinner label="Loading members" /> : null}
        {members.data && list.length === 0 ? <EmptyState title="This team has no members yet" /> : null}
        {list.length ? (
          <div className="table-wrap org-table-wrap">
            <table className="data">
              <caption className="visually-hidden">Members of team {teamname}</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Status</th>
                  {canEdit ? (
                    <th scope="col">
                      <span className="visually-hidden">Actions</span>
                    </th>
                  ) : null}
                </tr>
              </thead>
              <tbody>
                {list.map((m) => (
                  <tr key={`${m.kind}:${nameOf(m)}`}>
                    <td className={m.is_robot ? "robot-name" : undefined}>{nameOf(m)}</td>
                    <td>{m.kind === "invite" ? "Email" : m.is_robot ? "Robot" : "User"}</td>
                    <td>{m.invited ? <span className="badge badge-warning">Invited</span> : "Member"}</td>
                    {canEdit ? (
                      <td>
                        <div className="org-actions">
                          <button
                            type="button"
                            className="btn btn-danger"
                            aria-label={`${m.invited ? "Cancel invitation of" : "Remove"} ${nameOf(m)}`}
                            onClick={() => setRemoving(m)}
                          >
                            {m.invited ? "Cancel invitation" : "Remove"}
                          </button>
                        </div>
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>

      {admin ? <TeamPermissions permissions={permissions} orgname={orgname} teamname={teamname} /> : null}

      <ConfirmDialog
        open={removing !== null}
        title={removing?.invited ? "Cancel invitation" : "Remove member"}
        confirmLabel={removing?.invited ? "Cancel invitation" : "Remove"}
        message={
          removing?.invited
            ? `Cancel the invitation of ${removing ? nameOf(removing) : ""} to team ${teamname}?`
            : `Remove ${removing ? nameOf(removing) : ""} from team ${teamname}?`
        }
        busy={remove.busy}
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          const member = removing!;
          setRemoving(null);
          if ((await remove.run(member)) !== undefined) {
            toast(`${nameOf(member)} removed`);
            members.reload();
          }
        }}
      />
    </>
  );
}
