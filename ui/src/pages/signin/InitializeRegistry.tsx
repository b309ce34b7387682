/**
 * First-user setup (Quay's FEATURE_USER_INITIALIZE): a registry without any account offers to
 * create its first one, a superuser (`POST /api/v1/user/initialize`; the name must be listed in
 * SUPER_USERS), then signs it in.
 */
import { api } from "../../api/client";
import { type NewAccount, NewAccountForm } from "./NewAccountForm";

export function InitializeRegistry({ onSignedIn }: { onSignedIn: () => Promise<void> }) {
  const create = async ({ username, email, password }: NewAccount) => {
    await api("POST", "/user/initialize", { body: { username, email, password } });
    await api("POST", "/signin", { body: { username, password } });
    await onSignedIn();
  };
  return (
    <main className="signin" id="main">
      <h1>Set up Wharf</h1>
      <p className="signin-lead">
        This registry has no accounts yet. Create its first one: a superuser, whose name must be listed in SUPER_USERS.
      </p>
      <NewAccountForm initialUsername="admin" submitLabel="Create superuser" onCreate={create} />
    </main>
  );
}
