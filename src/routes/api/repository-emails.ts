/**
 * Verified addresses for `email` notifications (Quay `endpoints/api/repoemail.py`, internal, only
 * with FEATURE_MAILING: 404 without it, as Quay's `@show_if`): `GET …/authorizedemail/{email}`
 * answers the address's record (404 when never asked for), `POST` starts its verification (a mail
 * with a link, `/authrepoemail?code=…`, which src/routes/web.ts serves) or answers the record of
 * an address already confirmed. The repository's admins only (repo:admin; 403 otherwise).
 * Quay's JSON, without `code` (src/notifications/authorized-emails.ts says why).
 */
import { Hono } from "hono";
import { z } from "zod";
import { readConfig } from "../../config";
import { notFound } from "../../errors/domain";
import { mailerFor } from "../../mail/quay-mails";
import { authorizedEmailView, findAuthorizedEmail, requestAuthorization } from "../../notifications/authorized-emails";
import { mailRepositoryAuthorization } from "../../notifications/mails";
import type { AppEnv } from "../app-env";
import { documented } from "./openapi";
import { changeableRepository } from "./repository-access";
import { parseOrInvalid } from "./validate";

export const repositoryEmailRoutes = new Hono<AppEnv>();

const PATH = "/repository/:repository{.+}/authorizedemail/:email";
const email = z.email().max(254);

documented("GET", PATH, {
  operationId: "checkRepoEmailAuthorized",
  summary: "Checks to see if the given e-mail address is authorized on this repository.",
  scope: "repo:admin",
});
repositoryEmailRoutes.get(PATH, async (c) => {
  if (!readConfig(c.env).FEATURE_MAILING) throw notFound();
  const repository = await changeableRepository(c, "repo:admin", "admin");
  const record = await findAuthorizedEmail(c.var.db, repository, c.req.param("email"));
  if (!record) throw notFound();
  return c.json(authorizedEmailView(repository, record));
});

documented("POST", PATH, {
  operationId: "sendAuthorizeRepoEmail",
  summary: "Starts the authorization process for an e-mail address on a repository.",
  scope: "repo:admin",
});
repositoryEmailRoutes.post(PATH, async (c) => {
  const mailer = mailerFor(c.env, c.var.publicOrigin.origin);
  if (!mailer) throw notFound();
  const repository = await changeableRepository(c, "repo:admin", "admin");
  const address = parseOrInvalid(email, c.req.param("email"));
  const { record, code } = await requestAuthorization(c.var.db, repository, address);
  if (code !== null) await mailRepositoryAuthorization(mailer, { to: address, repository: repository.name, code });
  return c.json(authorizedEmailView(repository, record));
});
