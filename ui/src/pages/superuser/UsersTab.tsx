/**
 * The superuser's Users tab (Quay's "Users" in the superuser panel): every account with its email
 * and state, paged as the API pages it; create, change password or email, disable and enable,
 * mail a recovery link (with FEATURE_MAILING), delete.
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, useToast } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { useFeature, useSession } from "../../session";
import { useFreshLogin } from "./fresh-login";
import { usePagedList } from "./paged";
import { LoadMoreButton, PagedListStatus, searched } from "./PagedListParts";
import { RowActions } from "./RowActions";
import { TakeOwnershipDialog } from "./TakeOwnershipDialog";
import type { SuperuserUser } from "./types";
import {
  ChangeEmailDialog,
  ChangePasswordDialog,
  CreateUserDialog,
  DeleteUserDialog,
  DisableUserDialog,
} from "./user-dialogs";

type Dialog =
  | { kind: "create" }
  | { kind: "password" | "email" | "delete" | "disable" | "takeownership"; user: SuperuserUser };

const NOUNS = { one: "user", many: "users" };

export default function UsersTab() {
  const { user: me } = useSession();
  const mailing = useFeature("MAILING");
  const list = usePagedList<SuperuserUser>("/superuser/users/", "users");
  const [search, setSearch] = useState("");
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const fresh = useFreshLogin();
  const toast = useToast();
  const enable = useMutation((user: SuperuserUser) =>
    fresh(() => api("PUT", `/superuser/users/${seg(user.username)}`, { body: { enabled: true } })),
  );
  const recovery = useMutation((user: SuperuserUser) =>
    fresh(() => api<{ email: string }>("POST", `/superusers/users/${seg(user.username)}/sendrecovery`)),
  );

  const shown = searched(list.items, search.trim().toLowerCase(), (u) => u.username);
  const close = () => setDialog(null);

  return (
    <section aria-labelledby="su-users-title">
      <h2 id="su-users-title" className="visually-hidden">
        Users
      </h2>
      <div className="toolbar">
        <TextField
          label="Search users"
          type="search"
          placeholder="Name or email"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
        <button type="button" className="btn btn-primary" onClick={() => setDialog({ kind: "create" })}>
          Create user
        </button>
      </div>
      <ErrorBanner error={list.error} />
      <ErrorBanner error={enable.error} />
      <ErrorBanner error={recovery.error} />
      <PagedListStatus list={list} shown={shown.length} search={search} nouns={NOUNS} emptyTitle="No users" />
      {shown.length ? (
        <div className="table-wrap su-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Users of this registry</caption>
            <thead>
              <tr>
                <th scope="col">Username</th>
                <th scope="col" className="su-wide-only">
                  Email
                </th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((user) => (
                <tr key={user.username} data-username={user.username}>
                  <td>
                    <strong>{user.username}</strong>
                    {user.super_user ? <span className="badge su-badge">Superuser</span> : null}
                    <div className="su-narrow-only">{user.email ?? ""}</div>
                  </td>
                  <td className="su-wide-only">{user.email ?? "—"}</td>
                  <td>
                    {user.enabled ? (
                      <span className="badge badge-public">Enabled</span>
                    ) : (
                      <span className="badge badge-private">Disabled</span>
                    )}
                    {user.verified ? null : <span className="badge badge-warning su-badge">Unverified</span>}
                  </td>
                  <td className="su-actions-cell">
                    <RowActions
                      label={`Actions for ${user.username}`}
                      actions={[
                        { label: "Change email", onSelect: () => setDialog({ kind: "email", user }) },
                        { label: "Change password", onSelect: () => setDialog({ kind: "password", user }) },
                        {
                          label: "Send recovery email",
                          hidden: !mailing || user.super_user || !user.email,
                          onSelect: async () => {
                            const sent = await recovery.run(user);
                            if (sent) toast(`Recovery email sent to ${sent.email}`);
                          },
                        },
                        {
                          label: "Disable user",
                          hidden: !user.enabled || user.username === me?.username,
                          onSelect: () => setDialog({ kind: "disable", user }),
                        },
                        {
                          label: "Enable user",
                          hidden: user.enabled,
                          onSelect: async () => {
                            if (await enable.run(user)) {
                              toast(`User ${user.username} enabled`);
                              list.reload();
                            }
                          },
                        },
                        {
                          label: "Take ownership",
                          // The API refuses a superuser.
                          hidden: user.super_user,
                          onSelect: () => setDialog({ kind: "takeownership", user }),
                        },
                        {
                          label: "Delete user",
                          danger: true,
                          // Superusers are named by configuration; the API refuses to delete them.
                          hidden: user.super_user,
                          onSelect: () => setDialog({ kind: "delete", user }),
                        },
                      ]}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMoreButton list={list} nouns={NOUNS} />
      {dialog?.kind === "create" ? (
        <CreateUserDialog mailing={mailing} onClose={close} onChanged={list.reload} />
      ) : null}
      {dialog?.kind === "password" ? (
        <ChangePasswordDialog user={dialog.user} onClose={close} onChanged={list.reload} />
      ) : null}
      {dialog?.kind === "email" ? (
        <ChangeEmailDialog user={dialog.user} onClose={close} onChanged={list.reload} />
      ) : null}
      {dialog?.kind === "disable" ? (
        <DisableUserDialog user={dialog.user} onClose={close} onChanged={list.reload} />
      ) : null}
      {dialog?.kind === "takeownership" ? (
        <TakeOwnershipDialog namespace={dialog.user.username} isUser onClose={close} onChanged={list.reload} />
      ) : null}
      {dialog?.kind === "delete" ? (
        <DeleteUserDialog user={dialog.user} onClose={close} onChanged={list.reload} />
      ) : null}
    </section>
  );
}
