/**
 * The identity and account kinds of the event catalogue (src/events/catalogue.ts spreads them into
 * `CATALOGUE`; docs/events.md, "Identity and account events", says where each is emitted). Quay's
 * action-log names (/work/shared/reference/quay-features-003.md §5 "Log kinds", and the upstream
 * list in quay-features-002.md §9). Accounts and teams are named by id as well as by name: a name
 * can be reused once its account or team is gone.
 */
import { z } from "zod";

const id = z.number().int();

/** A user or robot account, as events name it. */
export const accountRefSchema = z.object({ kind: z.enum(["user", "robot"]), name: z.string(), id });
export type AccountRef = z.infer<typeof accountRefSchema>;

/** A team of the event's organization. */
const team = z.object({ name: z.string(), id });

/** Who a repository permission or a default permission is for: an account, or a team. */
export const delegateSchema = z.discriminatedUnion("kind", [
  accountRefSchema,
  z.object({ kind: z.literal("team"), name: z.string(), id }),
]);
export type Delegate = z.infer<typeof delegateSchema>;

const repositoryRole = z.enum(["read", "write", "admin"]);

/** A robot account, by its full name `namespace+short`. */
const robot = z.object({ name: z.string(), id });

const application = z.object({ clientId: z.string(), name: z.string() });

const policy = z.object({
  uuid: z.string(),
  method: z.enum(["number_of_tags", "creation_date"]),
  value: z.union([z.number(), z.string()]),
  tagPattern: z.string().nullable(),
  tagPatternMatches: z.boolean(),
});

/** Where a credential was presented (src/identity/logins.ts). */
const surface = z.enum(["v2auth", "signin", "authorizeapp", "v1", "federation"]);

/**
 * What was presented: a person's password (or Quay's `encrypted_password`), an OAuth token
 * (`$oauthtoken`), an application token (`$app`, or as a user's password), a robot's token, a
 * federated robot's one-hour token, or (federation) an OIDC token.
 */
const credential = z.enum(["password", "oauth", "app", "robot", "federated-robot", "oidc"]);

const policyEvent = z.object({ policy });

export const IDENTITY_EVENTS = {
  // Repository permissions: the repository's namespace and the repository itself.
  add_repo_permission: z.object({ delegate: delegateSchema, role: repositoryRole }),
  change_repo_permission: z.object({ delegate: delegateSchema, role: repositoryRole }),
  delete_repo_permission: z.object({ delegate: delegateSchema }),

  // Teams, in their organization's namespace.
  org_create_team: z.object({ team, role: z.enum(["member", "creator", "admin"]), description: z.string() }),
  org_set_team_role: z.object({ team, role: z.enum(["member", "creator", "admin"]) }),
  org_set_team_description: z.object({ team, description: z.string() }),
  org_delete_team: z.object({ team }),
  org_add_team_member: z.object({ team, member: accountRefSchema }),
  org_remove_team_member: z.object({ team, member: accountRefSchema }),
  // `member`: the account invited, when the invitation names one (REQUIRE_TEAM_INVITE); `email`
  // is then the address the invitation was mailed to.
  org_invite_team_member: z.object({ team, email: z.string(), member: accountRefSchema.optional() }),
  /** An invitation cancelled: one to an email address, or (none made today) to an account. */
  org_delete_team_member_invite: z.object({ team, email: z.string().nullable(), member: accountRefSchema.nullable() }),
  org_team_member_invite_accepted: z.object({ team, member: accountRefSchema }),
  org_team_member_invite_declined: z.object({ team, member: accountRefSchema }),

  // Default permissions (prototypes), in their organization's namespace.
  create_prototype_permission: z.object({
    prototype: z.string(),
    role: repositoryRole,
    delegate: delegateSchema,
    activatingUser: accountRefSchema.nullable(),
  }),
  modify_prototype_permission: z.object({ prototype: z.string(), role: repositoryRole, delegate: delegateSchema }),
  delete_prototype_permission: z.object({ prototype: z.string(), role: repositoryRole, delegate: delegateSchema }),

  // Robots, in their namespace.
  create_robot: z.object({ robot, description: z.string() }),
  delete_robot: z.object({ robot }),
  regenerate_robot_token: z.object({ robot }),
  create_robot_federation: z.object({
    robot,
    federation: z.array(z.object({ issuer: z.string(), subject: z.string() })),
  }),
  delete_robot_federation: z.object({ robot }),
  federated_robot_token_exchange: z.object({ robot, issuer: z.string(), subject: z.string() }),
  /** A robot's Management-API token: Quay's metadata (`api_token_uuid`, `token_display_name`, `scope`, `expiration` in seconds). */
  create_robot_api_token: z.object({
    robot,
    token: z.object({ uuid: z.string(), name: z.string() }),
    scope: z.string(),
    expiration: z.number().int(),
  }),
  revoke_robot_api_token: z.object({ robot, token: z.object({ uuid: z.string(), name: z.string() }) }),

  // Tokens and OAuth applications.
  create_app_specific_token: z.object({ token: z.object({ uuid: z.string(), title: z.string() }) }),
  revoke_app_specific_token: z.object({ token: z.object({ uuid: z.string(), title: z.string() }) }),
  /** An OAuth token minted for `user`: by an application's authorization, or at first start (no application). */
  create_oauth_api_token: z.object({ user: accountRefSchema, application: application.nullable(), scope: z.string() }),
  /** An OAuth token revoked by the user it acts for (`DELETE /api/v1/user/authorizations/{uuid}`). */
  revoke_oauth_api_token: z.object({ application: application.nullable(), uuid: z.string(), scope: z.string() }),
  /** An organization's admin asked `assignee` to authorize the application (FEATURE_ASSIGN_OAUTH_TOKEN). */
  oauth_token_assigned: z.object({ application, assignee: accountRefSchema, uuid: z.string(), scope: z.string() }),
  /** An assignment ended unused: deleted by its user (`DELETE /api/v1/user/assignedauthorization/{uuid}`). */
  oauth_token_revoked: z.object({ application, uuid: z.string() }),
  /** Quay's `user_generate_client_key`: an `encrypted_password` handed out (`POST /api/v1/user/clientkey`). */
  user_generate_client_key: z.object({}),
  // Mailed codes (src/identity/email-codes.ts; no Quay log kind): one issued and mailed, one used.
  user_email_code_issued: z.object({ purpose: z.enum(["confirm", "recovery"]), email: z.string() }),
  user_email_code_used: z.object({ purpose: z.enum(["confirm", "recovery"]), email: z.string() }),
  create_application: z.object({ application }),
  update_application: z.object({ application }),
  delete_application: z.object({ application }),
  reset_application_client_secret: z.object({ application }),

  // External logins (src/identity/external-logins.ts; no Quay log kind): an OpenID Connect
  // provider's subject linked to the account (a new way to sign in to it), or unlinked.
  external_login_attach: z.object({ service: z.string(), serviceUsername: z.string().nullable() }),
  external_login_detach: z.object({ service: z.string() }),

  // Logins: the event is the record itself (docs/events.md, "Logins").
  login_success: z.object({ surface, credential, userAgent: z.string().nullable() }),
  login_failure: z.object({
    surface,
    credential,
    /** The name given, as given (at most 255 characters); never the secret. */
    username: z.string(),
    /** `invalid`: nothing matched; `not_accepted`: a credential this surface does not take (a token at sign-in). */
    reason: z.enum(["invalid", "not_accepted"]),
    userAgent: z.string().nullable(),
  }),
  logout_success: z.object({ surface: z.literal("signin") }),

  // Organizations and users, in their own namespace.
  org_create: z.object({ email: z.string().nullable() }),
  org_delete: z.object({}),
  org_change_email: z.object({ email: z.string() }),
  org_change_invoicing: z.object({ invoiceEmail: z.boolean(), invoiceEmailAddress: z.string().nullable() }),
  org_change_tag_expiration: z.object({ tagExpirationS: z.number().int() }),
  /** A superuser renamed the organization (`changeOrganization`); the event is in its new name. */
  org_change_name: z.object({ oldName: z.string(), newName: z.string() }),
  /**
   * A superuser took a namespace (`takeOwnership`): joined an organization's owners, or converted a
   * user into an organization it owns (`wasUser`). In the superuser's namespace, as Quay logs it.
   */
  take_ownership: z.object({ namespace: z.string(), entityId: id, wasUser: z.boolean() }),
  user_create: z.object({ email: z.string().nullable() }),
  user_delete: z.object({}),
  user_disable: z.object({}),
  user_enable: z.object({}),
  user_change_email: z.object({ email: z.string() }),
  user_change_password: z.object({}),
  user_change_tag_expiration: z.object({ tagExpirationS: z.number().int() }),
  /** Quay's `account_convert`: the user became an organization administered by `adminUser`. */
  account_convert: z.object({ adminUser: accountRefSchema }),

  // Auto-prune policies: a namespace's (Quay's kinds 101-103) and a repository's (Quay's upstream names).
  create_namespace_autoprune_policy: policyEvent,
  update_namespace_autoprune_policy: policyEvent,
  delete_namespace_autoprune_policy: policyEvent,
  create_repository_autoprune_policy: policyEvent,
  update_repository_autoprune_policy: policyEvent,
  delete_repository_autoprune_policy: policyEvent,
};
