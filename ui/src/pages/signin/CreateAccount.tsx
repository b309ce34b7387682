/**
 * `/createaccount`: Quay's sign-up (POST /api/v1/user/, FEATURE_USER_CREATION). The new account
 * is signed in at once; with FEATURE_MAILING it waits for its confirmation mail instead, as Quay's.
 */
import { useState } from "react";
import { api } from "../../api/client";
import { EmptyState } from "../../components/feedback";
import { Link, navigate } from "../../router";
import { useFeature, useSession } from "../../session";
import { type NewAccount, NewAccountForm } from "./NewAccountForm";
import "./signin.css";

export default function CreateAccount() {
  const { refresh, loading } = useSession();
  const userCreation = useFeature("USER_CREATION");
  // With FEATURE_MAILING: the account made, waiting for its address to be confirmed.
  const [awaiting, setAwaiting] = useState<NewAccount | null>(null);
  if (!loading && !userCreation)
    return (
      <main className="signin" id="main">
        <h1>Create account</h1>
        <EmptyState title="Account creation is disabled">
          <p>
            Ask an administrator for an account, then <Link to="/signin">sign in</Link>.
          </p>
        </EmptyState>
      </main>
    );
  if (awaiting)
    return (
      <main className="signin" id="main">
        <h1>Check your e-mail</h1>
        <div className="banner banner-info" role="status">
          Your account {awaiting.username} was created. Follow the link mailed to {awaiting.email} to confirm your
          address, then <Link to="/signin">sign in</Link>.
        </div>
      </main>
    );
  const create = async (account: NewAccount) => {
    const created = await api<{ awaiting_verification?: boolean }>("POST", "/user/", { body: account });
    if (created?.awaiting_verification) {
      setAwaiting(account);
      return;
    }
    await refresh();
    navigate("/repository/", { replace: true });
  };
  return (
    <main className="signin" id="main">
      <h1>Create account</h1>
      <NewAccountForm namespaceRule submitLabel="Create account" onCreate={create} />
      <p className="signin-alt">
        Already have an account? <Link to="/signin">Sign in</Link>
      </p>
    </main>
  );
}
