/**
 * An account's own life (Quay `endpoints/api/user.py`): signing up (`createNewUser`), deleting
 * oneself (`deleteCurrentUser`), and the client key (`generateUserClientKey`). Turning a user into
 * an organization is in ./account-conversion.ts; OAuth grants in ./oauth-authorizations.ts.
 */
import { DomainError, conflict, invalid, modelError } from "../errors/domain";
import type { Db } from "../db/client";
import type { User } from "../db/schema";
import type { EventScope } from "../events/outbox";
import { commitWithEvents, namespaceEvent } from "./account-events";
import { confirmPassword } from "./credentials";
import type { LoginGuard } from "./login-limits";
import { deleteNamespace } from "./namespace-deletion";
import { organizationsOnlyOwnedBy } from "./organizations";
import { encryptSecret } from "./secrets";
import { newSession } from "./sessions";
import { createUser, findUser } from "./users";

type SecretEnv = { WHARF_SECRET_KEY?: string };

export interface SignUp {
  username: string;
  password: string;
  email: string | null;
}

/**
 * Issue #15's seam: with FEATURE_MAILING on, Quay creates the account unverified, mails it a
 * confirmation code (`send_confirmation_email`) and answers `{"awaiting_verification": true}`
 * without signing it in. Wharf has no mailer yet, so src/config.ts keeps FEATURE_MAILING off and
 * nothing reaches this; the mailer replaces the refusal with the mail.
 */
export async function sendAccountConfirmation(_user: User): Promise<never> {
  throw new DomainError("unsupported", { message: "Wharf cannot send mail yet (FEATURE_MAILING)" });
}

/**
 * Quay's `createNewUser`: a new account and, with mailing off (Wharf's only mode today), a browser
 * session for it, as Quay's `common_login` signs the new user in. The session is written after the
 * account: an account without one is whole (it signs in like any other).
 *
 * Beyond Quay: every attempt counts against the client address's sign-up budget (`guard`, Quay
 * has recaptcha instead), and a name `superuserName` says SUPER_USERS lists is refused as taken
 * even before its owner registers it: whoever signed up first would be a superuser.
 */
export async function signUp(
  db: Db,
  input: SignUp,
  options: { mailing: boolean; superuserName: boolean },
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
  if (options.mailing && !input.email) throw invalid("Email address is required");
  const user = await createUser(db, input, events);
  if (options.mailing) return { user, awaitingVerification: await sendAccountConfirmation(user) };
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
