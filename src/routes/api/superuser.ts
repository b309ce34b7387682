/** /api/v1/superuser/users: Quay's superuser user management (`endpoints/api/superuser.py`). */
import { Hono } from "hono";
import { documented } from "./openapi";
import { z } from "zod";
import { callerSessionId, callerWith, requireFreshLogin, requireSuperuser } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { invalid, notFound } from "../../errors/domain";
import { jsonBody, parseOrInvalid } from "./validate";
import { listingPage, listingPageQuery, nextPageOf } from "./page-token";
import { truthy } from "./repositories";
import { listUserAccounts } from "../../identity/account-listings";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import { namespaceQuotaFieldsOf, withCoreUsage } from "../../quota/quota-views";
import { organizationsOnlyOwnedBy } from "../../identity/organizations";
import { deleteNamespace } from "../../identity/namespace-deletion";
import { generatePassword } from "../../identity/passwords";
import { encryptSecret } from "../../identity/secrets";
import { createInstallUser, sendRecoveryFor } from "../../identity/account-mail";
import { mailerFor } from "../../mail/quay-mails";
import {
  emailSchema,
  findUser,
  isSuperuser,
  passwordSchema,
  superuserUserView,
  updateUser,
  usernameSchema,
} from "../../identity/users";

export const superuserRoutes = new Hono<AppEnv>();

superuserRoutes.use("/superuser/*", requireSuperuser());

/** Quay's query: `disabled=false` leaves disabled users out; `limit` (at most 100) and `next_page` page. */
const listQuery = z.object({ disabled: truthy, ...listingPageQuery });
const USERS_PAGE_LIST = "superuser-users";

documented("GET", "/superuser/users", {
  operationId: "listAllUsers",
  summary: "Lists every user.",
  scope: "super:user",
  query: listQuery,
});
superuserRoutes.get("/superuser/users", async (c) => {
  const config = readConfig(c.env);
  const query = parseOrInvalid(listQuery, c.req.query());
  const page = await listingPage(c.env, USERS_PAGE_LIST, query);
  const users = await listUserAccounts(c.var.db, { ...page, enabledOnly: query.disabled === false });
  // Each namespace's usage from its core's database (one query per shard holding some of them).
  const quotas = await namespaceQuotaFieldsOf(c.var.db, await withCoreUsage(c.env, users, config), config);
  return c.json({
    users: await Promise.all(users.map((user) => superuserUserView(config, user, quotas.get(user.id)))),
    ...(await nextPageOf(c.env, USERS_PAGE_LIST, users, page.limit)),
  });
});

const createBody = z.object({ username: usernameSchema, email: emailSchema });

documented("POST", "/superuser/users", {
  operationId: "createInstallUser",
  summary: "Creates a user with a generated password.",
  scope: "super:user",
  body: createBody,
});
/**
 * Creates a user with a generated password, returned once (Quay's answer shape); with
 * FEATURE_MAILING the account waits for its mailed confirmation, as in Quay.
 */
superuserRoutes.post("/superuser/users", requireFreshLogin(), async (c) => {
  const body = await jsonBody(c, createBody);
  const password = generatePassword();
  const mailer = mailerFor(c.env, c.var.publicOrigin.origin);
  const input = { username: body.username, email: body.email, password };
  const user = await createInstallUser(c.var.db, mailer, input, requestEvents(c));
  return c.json({
    username: user.username,
    email: user.email,
    password,
    encrypted_password: await encryptSecret(c.env, password),
  });
});

async function targetUser(c: { var: AppEnv["Variables"]; req: { param(name: string): string | undefined } }) {
  const username = parseOrInvalid(z.string(), c.req.param("username"));
  const user = await findUser(c.var.db, username);
  if (user?.kind !== "user" || user.deletingSince !== null) throw notFound();
  return user;
}

documented("GET", "/superuser/users/:username", {
  operationId: "getInstallUser",
  summary: "One user.",
  scope: "super:user",
});
superuserRoutes.get("/superuser/users/:username", async (c) => {
  return c.json(await superuserUserView(readConfig(c.env), await targetUser(c)));
});

const updateBody = z.object({
  password: passwordSchema.optional(),
  email: emailSchema.optional(),
  enabled: z.boolean().optional(),
});

documented("PUT", "/superuser/users/:username", {
  operationId: "changeInstallUser",
  summary: "Changes a user's password, email or enabled flag.",
  scope: "super:user",
  body: updateBody,
});
/** Sets a user's password, email or enabled flag; a disabled user can do nothing until enabled. */
superuserRoutes.put("/superuser/users/:username", requireFreshLogin(), async (c) => {
  const user = await targetUser(c);
  const body = await jsonBody(c, updateBody);
  const me = callerWith(c.var.caller, "super:user");
  if (body.enabled === false && user.id === me.id) throw invalid("Cannot disable yourself");
  // A new password signs the user's other sessions out; the caller's own session, if it is one of
  // them (a superuser changing their own password here), stays signed in.
  const updated = await updateUser(c.var.db, user, body, callerSessionId(c.var.caller), requestEvents(c));
  const answer: Record<string, unknown> = await superuserUserView(readConfig(c.env), updated);
  if (body.password !== undefined) answer.encrypted_password = await encryptSecret(c.env, body.password);
  return c.json(answer);
});

documented("DELETE", "/superuser/users/:username", {
  operationId: "deleteInstallUser",
  summary: "Deletes a user.",
  scope: "super:user",
  status: 204,
});
/** Deletes a user and their tokens. Superusers are named by configuration and cannot be deleted here. */
superuserRoutes.delete("/superuser/users/:username", requireFreshLogin(), async (c) => {
  const user = await targetUser(c);
  if (isSuperuser(readConfig(c.env), user.username)) throw invalid("Cannot delete a superuser");
  const orphaned = await organizationsOnlyOwnedBy(c.var.db, user.id);
  if (orphaned.length > 0)
    throw invalid(`Cannot delete ${user.username}: the only admin of organization ${orphaned.join(", ")}`);
  await deleteNamespace(c.var.db, c.env, user, requestEvents(c));
  return c.body(null, 204);
});

documented("POST", "/superusers/users/:username/sendrecovery", {
  operationId: "sendInstallUserRecoveryEmail",
  summary: "Mails a user a password recovery link (FEATURE_MAILING; absent without it).",
  scope: "super:user",
});
/**
 * Quay's `sendInstallUserRecoveryEmail` (its path says `superusers`): with `@require_fresh_login`
 * and `@show_if(FEATURE_MAILING)` (404 without); never for a superuser. Answers `{"email"}`.
 */
superuserRoutes.post("/superusers/users/:username/sendrecovery", requireSuperuser(), requireFreshLogin(), async (c) => {
  const mailer = mailerFor(c.env, c.var.publicOrigin.origin);
  if (!mailer) throw notFound();
  const config = readConfig(c.env);
  const username = parseOrInvalid(z.string(), c.req.param("username"));
  const target = await findUser(c.var.db, username);
  const lifetime = config.USER_RECOVERY_TOKEN_LIFETIME;
  const superuser = isSuperuser(config, username);
  return c.json(await sendRecoveryFor(c.var.db, mailer, target, superuser, lifetime, requestEvents(c)));
});
