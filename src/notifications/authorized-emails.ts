/**
 * Quay's verified addresses for `email` notifications (`endpoints/api/repoemail.py`,
 * `data/model/repository.py`): a repository's admin asks for an address (`POST
 * …/authorizedemail/{email}`), Wharf mails it a link with a code, and following the link
 * (`GET /authrepoemail?code=…`) confirms it; only then may an `email` notification mail it.
 *
 * One difference from Quay: its JSON shows the admin the `code`, which would let the admin confirm
 * any address without its holder; Wharf stores only the code's hash and mails the code alone.
 */
import { and, eq } from "drizzle-orm";
import type { Db } from "../db/client";
import {
  type Repository,
  type RepositoryAuthorizedEmail,
  repositories,
  repositoryAuthorizedEmails,
} from "../db/schema";
import { invalid } from "../errors/domain";
import { randomString } from "../identity/passwords";
import { sha256Hex } from "../lib/encoding";
import { splitName } from "../registry/repository-name";

const CODE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** Quay's `RepositoryAuthorizedEmail.to_dict`, without the code. */
export function authorizedEmailView(
  repository: Repository,
  record: Pick<RepositoryAuthorizedEmail, "email" | "confirmed">,
) {
  const [namespace, name] = splitName(repository.name);
  return { email: record.email, repository: name, namespace, confirmed: record.confirmed };
}

export async function findAuthorizedEmail(
  db: Db,
  repository: Repository,
  email: string,
): Promise<RepositoryAuthorizedEmail | undefined> {
  return db
    .select()
    .from(repositoryAuthorizedEmails)
    .where(and(eq(repositoryAuthorizedEmails.repositoryId, repository.id), eq(repositoryAuthorizedEmails.email, email)))
    .get();
}

/**
 * Starts (or restarts) the authorization of `email`: a fresh code for an unconfirmed address, the
 * record unchanged for a confirmed one (`code` null: nothing to mail), as Quay answers.
 */
export async function requestAuthorization(
  db: Db,
  repository: Repository,
  email: string,
): Promise<{ record: RepositoryAuthorizedEmail; code: string | null }> {
  const found = await findAuthorizedEmail(db, repository, email);
  if (found?.confirmed) return { record: found, code: null };
  const code = randomString(CODE_ALPHABET, 32);
  const codeHash = await sha256Hex(code);
  await db
    .insert(repositoryAuthorizedEmails)
    .values({ repositoryId: repository.id, email, codeHash })
    .onConflictDoUpdate({
      target: [repositoryAuthorizedEmails.repositoryId, repositoryAuthorizedEmails.email],
      set: { codeHash },
    });
  return { record: (await findAuthorizedEmail(db, repository, email))!, code };
}

/** Confirms the address the code was mailed to; its repository's name and the address. */
export async function confirmAuthorization(db: Db, code: string): Promise<{ repository: string; email: string }> {
  const codeHash = await sha256Hex(code);
  const found = await db
    .select({
      id: repositoryAuthorizedEmails.id,
      email: repositoryAuthorizedEmails.email,
      repository: repositories.name,
    })
    .from(repositoryAuthorizedEmails)
    .innerJoin(repositories, eq(repositories.id, repositoryAuthorizedEmails.repositoryId))
    .where(eq(repositoryAuthorizedEmails.codeHash, codeHash))
    .get();
  if (!found) throw invalid("Invalid confirmation code.");
  await db
    .update(repositoryAuthorizedEmails)
    .set({ confirmed: true })
    .where(eq(repositoryAuthorizedEmails.id, found.id));
  return { repository: found.repository, email: found.email };
}

/** Whether `email` may receive the repository's notifications (Quay's `EmailMethod.validate`). */
export async function isAuthorizedEmail(db: Db, repository: Repository, email: string): Promise<boolean> {
  return (await findAuthorizedEmail(db, repository, email))?.confirmed === true;
}
