/**
 * An account's own life (Quay `endpoints/api/user.py`): signing up (`createNewUser`), deleting
 * oneself (`deleteCurrentUser`), and the client key (`generateUserClientKey`). Turning a user into
 * an organization is in ./account-conversion.ts; OAuth grants in ./oauth-authorizations.ts.
 */
import { conflict, invalid, modelError } from "../errors/domain";
import type { Db } from "../db/client";
import type { User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import type { Mailer } from "../mail/quay-mails";
import { commitWithEvents, namespaceEvent } from "./account-events";
import { sendAccountConfirmation } from "./account-mail";
import { confirmPassword } from "./credentials";
import type { LoginGuard } from "./login-limits";
import { deleteNamespace } from "./namespace-deletion";
import { invitedAddress } from "./team-invites";
import { organizationsOnlyOwnedBy } from "./organizations";
import { encryptSecret } from "./secrets";
import { newSession } from "./sessions";
import { createUser, findUser } from "./users";

type SecretEnv = { WHARF_SECRET_KEY?: string };

export interface SignUp {
  username: string;
  password: string;
  email: string | null;
  /** Quay's `invite_code`: `urn:teaminvite:<code>` of an invitation mailed to `email`. */
  inviteCode?: string;
}

/**
 * Quay's `createNewUser`: a new account and, with mailing off, a browser session for it, as Quay's
 * `common_login` signs the new user in (the session is written after the account: an account
 * without one is whole). With mailing on (`mailer`), Quay's way: the account is created
 * unverified, its address is mailed a confirmation link (./account-mail.ts), and nobody is signed
 * in until the link is followed. Should the mail's code fail to be written after the account,
 * recovery (which verifies) still reaches the account.
 *
 * Beyond Quay: every attempt counts against the client address's sign-up budget (`guard`, Quay
 * has recaptcha instead), and a name `superuserName` says SUPER_USERS lists is refused as taken
 * even before its owner registers it: whoever signed up first would be a superuser.
 */
export async function signUp(
  db: Db,
  input: SignUp,
  options: { mailer: Mailer | null; superuserName: boolean },
  guard: LoginGuard,
  events: EventScope,
): Promise<{ user: User; awaitingVerification: true } | { user: User; cookie: string; awaitingVerification: false }> {
  await guard.countSignUp();
  if (options.superuserName) throw conflict("The username already exists");
  const existing = await findUser(db, input.username);
  // Quay's two answers (both its request_error): its own check for a person's name, its model's
  // message for an organization's.
  if (existing?.kind === "organization")
    throw invalid(`Username has already been taken by an organization and cannot be reused: ${input.username}`);
  if (existing) throw conflict("The username already exists");
  const { mailer } = options;
  if (mailer && !input.email) throw invalid("Email address is required");
  // Quay's `handle_invite_code`: the code of an invitation mailed to this address proves it, so the
  // account is verified and signed in at once (joining is still the invitation's own acceptance).
  const invited = mailer && input.email && input.inviteCode ? await invitedAddress(db, input.inviteCode) : null;
  const verified = !mailer || invited === input.email;
  const { inviteCode: _, ...account } = input;
  const user = await createUser(db, { ...account, verified }, events);
  if (!verified && mailer) {
    await sendAccountConfirmation(db, mailer, user, events);
    return { user, awaitingVerification: true };
  }
  const session = await newSession(db, user);
  await session.insert;
  return { user, cookie: session.cookie, awaitingVerification: false };
}

/**
 * Quay's `deleteCurrentUser` (`mark_namespace_for_deletion`): refused while the user is the only
 * admin of an organization (Quay's message, from its model: a 400 with `message`), then the namespace deletion every account shares
 * (./namespace-deletion.ts: robots, tokens and sessions at once, repositories in the background).
 * Wharf also refuses a superuser: SUPER_USERS names them, and whoever took the freed name next
 * would be one.
 */
export async function deleteOwnAccount(
  db: Db,
  env: Env,
  user: User,
  superuser: boolean,
  events: EventScope,
): Promise<void> {
  if (superuser) throw modelError("Cannot delete a superuser: remove the name from SUPER_USERS first");
  const orphaned = await organizationsOnlyOwnedBy(db, user.id);
  if (orphaned.length > 0)
    throw modelError(
      `Cannot delete ${user.username} as you are the only admin for organizations: ${orphaned.join(", ")}`,
    );
  await deleteNamespace(db, env, user, events);
}

/**
 * Quay's `generateUserClientKey`: the user's password, checked again (within the login limits, as
 * any password check), sealed as the `encrypted_password` that registry clients take in its place
 * (./credentials.ts opens it, and it stops working when the password changes). Quay's 400 "Invalid
 * Username or Password" for a wrong one.
 */
export async function generateClientKey(
  db: Db,
  env: SecretEnv,
  user: User,
  password: string,
  guard: LoginGuard,
  events: EventScope,
): Promise<string> {
  if (!(await confirmPassword(db, user.username, password, guard))) throw invalid("Invalid Username or Password");
  const key = await encryptSecret(env, password);
  await commitWithEvents(
    db,
    events,
    [],
    [namespaceEvent("user_generate_client_key", user.username, events.origin, {})],
  );
  return key;
}
