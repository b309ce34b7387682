/** /api/v1/user: the signed-in user (Quay `endpoints/api/user.py`) and first-start initialization. */
import { type Context, Hono } from "hono";
import { documented } from "./openapi";
import { z } from "zod";
import type { ApiCaller } from "../../identity/callers";
import { callerSessionId, callerWith, requireFreshLogin, requireScope } from "../../middleware/api-caller";
import { requestEvents } from "../../middleware/event-scope";
import { invalid } from "../../errors/domain";
import { ApiError } from "./errors";
import { jsonBody } from "./validate";
import { readConfig } from "../../config";
import type { AppEnv } from "../app-env";
import type { User } from "../../db/schema";
import { namespaceQuotaFields, namespaceWithCoreUsage } from "../../quota/quota-views";
import { checkTagExpiration } from "../../identity/organizations";
import { changeOwnDetails } from "../../identity/account-mail";
import { externalLoginsOf } from "../../identity/external-logins";
import { mailerFor } from "../../mail/quay-mails";
import { userOrganizationsView } from "../../identity/organization-views";
import { ALL_SCOPES, grants } from "../../identity/scopes";
import { encryptSecret } from "../../identity/secrets";
import { issueOAuthToken } from "../../identity/tokens";
import {
  createFirstUser,
  emailSchema,
  isSuperuser,
  ownUserView,
  passwordSchema,
  usernameSchema,
} from "../../identity/users";

export const userRoutes = new Hono<AppEnv>();

const scopesOf = (caller: ApiCaller) => (caller.kind === "user" ? caller.scopes : []);
/** Quay's SuperUserPermission on a token: only the super:user scope carries it. */
const superuserScope = (caller: ApiCaller) => ({ superuserScope: grants(scopesOf(caller), "super:user") });

/** What the user's own view shows: superuser powers, and (FEATURE_QUOTA_MANAGEMENT) its quota. */
async function ownViewOptions(c: Context<AppEnv>, user: User) {
  const config = readConfig(c.env);
  const [quotaFields, logins] = await Promise.all([
    // The usage its core's database counts (a shard's shadow when the core is there).
    namespaceQuotaFields(c.var.db, await namespaceWithCoreUsage(c.env, user, config), config),
    externalLoginsOf(c.var.db, user),
  ]);
  return { ...superuserScope(c.var.caller), quotaFields, logins };
}

const initializeBody = z.object({
  username: usernameSchema,
  password: passwordSchema,
  email: emailSchema,
  access_token: z.boolean().optional().default(false),
});

documented("POST", "/user/initialize", {
  operationId: "createInitialUser",
  summary: "Creates the first superuser of an empty registry (FEATURE_USER_INITIALIZE).",
  scope: null,
  body: initializeBody,
});
/**
 * Quay's FEATURE_USER_INITIALIZE: the first account of an empty registry, made by an anonymous
 * call, with an OAuth token of every scope when `access_token` is true. It must be a superuser
 * (named in SUPER_USERS), since nobody could create one afterwards.
 */
userRoutes.post("/user/initialize", async (c) => {
  const body = await jsonBody(c, initializeBody);
  if (!isSuperuser(readConfig(c.env), body.username)) {
    throw invalid("The first user must be a superuser: list the username in SUPER_USERS");
  }
  const events = requestEvents(c);
  const user = await createFirstUser(c.var.db, body, events);
  if (!user) throw invalid("Cannot initialize user in a non-empty database");
  const answer: Record<string, string | null> = {
    username: user.username,
    email: user.email,
    encrypted_password: await encryptSecret(c.env, body.password),
  };
  if (body.access_token)
    answer.access_token = await issueOAuthToken(c.var.db, user, { scopes: ALL_SCOPES, application: null }, events);
  return c.json(answer);
});

documented("GET", "/user", { operationId: "getLoggedInUser", summary: "The signed-in user.", scope: "user:read" });
userRoutes.get("/user", async (c) => {
  // Quay's getLoggedInUser is open to anonymous callers and answers them its InvalidToken with
  // `session_required: false` (endpoints/api/user.py), a field its UI reads.
  if (c.var.caller.kind === "anonymous")
    throw new ApiError("invalid_token", "Requires authentication", { fields: { session_required: false } });
  const user = callerWith(c.var.caller, "user:read");
  const organizations = await userOrganizationsView(c.var.db, user, scopesOf(c.var.caller));
  return c.json(await ownUserView(readConfig(c.env), user, organizations, await ownViewOptions(c, user)));
});

const changeOwnBody = z
  .object({
    password: passwordSchema.optional(),
    email: emailSchema.optional(),
    tag_expiration_s: z.number().int().min(0).optional(),
  })
  .refine(
    (b) => b.password !== undefined || b.email !== undefined || b.tag_expiration_s !== undefined,
    "Nothing to change: give password, email or tag_expiration_s",
  );

documented("PUT", "/user", {
  operationId: "changeUserDetails",
  summary: "Changes the signed-in user's password, email or time-machine window (tag_expiration_s).",
  scope: "user:admin",
  body: changeOwnBody,
});
/**
 * Changing one's own password or email (Quay `PUT /api/v1/user/`, `@require_fresh_login`); with
 * FEATURE_MAILING a new email waits for its confirmation link, as in Quay.
 */
userRoutes.put("/user", requireScope("user:admin"), requireFreshLogin(), async (c) => {
  const user = callerWith(c.var.caller, "user:admin");
  const body = await jsonBody(c, changeOwnBody);
  if (body.tag_expiration_s !== undefined)
    checkTagExpiration(readConfig(c.env).TAG_EXPIRATION_OPTIONS, body.tag_expiration_s);
  const updated = await changeOwnDetails(
    c.var.db,
    mailerFor(c.env, c.var.publicOrigin.origin),
    user,
    { password: body.password, email: body.email, tagExpirationS: body.tag_expiration_s },
    callerSessionId(c.var.caller),
    requestEvents(c),
  );
  return c.json(
    await ownUserView(
      readConfig(c.env),
      updated,
      await userOrganizationsView(c.var.db, updated, scopesOf(c.var.caller)),
      await ownViewOptions(c, updated),
    ),
  );
});
