/**
 * Quay's discovery document: `GET /api/v1/discovery` answers the Swagger 2.0 document that Quay's
 * `endpoints/api/discovery.py` builds, so clients that load Quay's discovery at run time (to find an
 * operation by its `operationId`, Quay's nickname) work against Wharf. It is built from the same
 * `documented(...)` descriptions as the OpenAPI 3.1 document (`openapi.ts`) and the router's own
 * route list. As in Quay, `?internal=true` adds the operations Quay marks `@internal_only`; Wharf
 * also keeps every superuser operation behind it (Quay lists its non-internal superuser ones by
 * default). As in Quay, anyone may ask for either document: it describes the API, it grants nothing.
 */
import { z } from "zod";
import { SCOPES } from "../../identity/scopes";
import { type DescribedRoute, describedRoutes, openApiPath, type RouteEntry } from "./openapi";

/**
 * The operations Quay marks `@internal_only` (its UI's own calls), by nickname: its discovery shows
 * them only with `internal=true`. The catalogue test holds this set to the README's table.
 */
export const QUAY_INTERNAL_OPERATIONS: ReadonlySet<string> = new Set([
  "acceptOrganizationTeamInvite",
  "analyzeBuildTrigger",
  "changeUserDetails",
  "checkRepoEmailAuthorized",
  "convertUserToOrganization",
  "createNewUser",
  "declineOrganizationTeamInvite",
  "deleteAssignedAuthorization",
  "deleteCurrentUser",
  "deleteUserAuthorization",
  "detachExternalLogin",
  "generateUserClientKey",
  "getFiledropUrl",
  "getUserAuthorization",
  "getUserNotification",
  "linkExternalUser",
  "listAssignedAuthorizations",
  "listBuildTriggerSubdirs",
  "listTriggerBuildSourceNamespaces",
  "listTriggerBuildSources",
  "listTriggerFieldValues",
  "listUserAuthorizations",
  "listUserNotifications",
  "logout",
  "requestRecoveryEmail",
  "resetOrganizationApplicationClientSecret",
  "retrieveExternalLoginAuthorizationUrl",
  "sendAuthorizeRepoEmail",
  "signinUser",
  "updateUserNotification",
  "verifyUser",
]);

/**
 * Whether discovery shows `route` only with `internal=true`: Quay's internal operations, and the
 * superuser ones (under `/superuser`, or needing the super:user scope wherever they live).
 */
export function isInternalRoute(route: DescribedRoute): boolean {
  return (
    QUAY_INTERNAL_OPERATIONS.has(route.doc.operationId) ||
    route.doc.scope === "super:user" ||
    /^\/superusers?(\/|$)/.test(openApiPath(route.path))
  );
}

/** Quay's tag of an operation is the module that defines it; Wharf names it from the path. */
const TAGS: [RegExp, string, string][] = [
  [/^\/superusers?\//, "superuser", "Superuser API."],
  [
    /\/applications\/[^/]+\/tokens/,
    "organization_application_tokens",
    "Manage OAuth tokens for an organization's application.",
  ],
  [/\/immutabilitypolicy/, "immutability_policy", ""],
  [/\/autoprunepolicy/, "policy", ""],
  [/\/robots/, "robot", "Manage user and organization robot accounts."],
  [/\/prototypes/, "prototype", "Manage default permissions added to repositories."],
  [/\/(team|teaminvite)\//, "team", "Create, list and manage an organization's teams."],
  [/^\/repository\/[^/]+\/tag(\/|$)/, "tag", "Manage the tags of a repository."],
  [/\/manifest\//, "manifest", "Manage the manifests of a repository."],
  [/\/permissions\//, "permission", "Manage repository permissions."],
  [/^\/repository(\/|$)/, "repository", "List, create and manage repositories."],
  [/^\/(organization|app)(\/|$)/, "organization", "Manage organizations, members and OAuth applications."],
  [/^\/user\/apptoken/, "appspecifictokens", "Manages app specific tokens for the current user."],
  [/^\/(user|users|signin|signout)(\/|$)/, "user", "Manage the current user."],
  [/^\/(find|entities)\//, "search", "Conduct searches against all registry context."],
  [/^\/(messages|message)(\/|$)/, "globalmessages", "Messages API."],
  [/^\/error\//, "error", "Error details API"],
  [/^\/registry\//, "capabilities", "Registry capabilities API endpoint."],
  [/^\/discovery$/, "discovery", "API discovery information."],
];

function tagOf(path: string): [string, string] {
  for (const [pattern, name, description] of TAGS) if (pattern.test(path)) return [name, description];
  return ["wharf", "Wharf's own operations."];
}

/** Quay's `@path_param` descriptions for the parameter names Wharf's paths use. */
const PATH_PARAMETERS: Record<string, string> = {
  repository: "The full path of the repository. e.g. namespace/name",
  orgname: "The name of the organization",
  teamname: "The name of the team",
  membername: "The username of the member",
  username: "The username of the user",
  shortname: "The short name for the robot, without any user or organization prefix",
  client_id: "The OAuth client ID",
  manifestref: "The digest of the manifest",
  labelid: "The ID of the label",
  tag: "The name of the tag",
  policy_uuid: "The unique ID of the policy",
  prototypeid: "The ID of the prototype",
  uuid: "The uuid of the app specific token",
  email: "The e-mail address",
  code: "The invite code",
};

function inputSchema(schema: z.ZodType): Record<string, unknown> {
  // Swagger 2.0 speaks JSON Schema draft 4; draft-7 output is the nearest zod writes.
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any", target: "draft-7" });
  return rest;
}

/** The spellings Quay's `truthy_bool` parameters take (`repositories.ts`'s `truthy`). */
const BOOLEAN_WORDS = new Set(["true", "false", "True", "False", "1", "0"]);

/** Quay's `TYPE_CONVERTER`: a query parameter's Swagger type, and its choices where it has some. */
function queryType(schema: Record<string, unknown>): { type: string; enum?: unknown[] } {
  const choices = (schema.enum as unknown[] | undefined)?.filter((v) => v !== null);
  if (choices?.length && choices.every((v) => BOOLEAN_WORDS.has(String(v)))) return { type: "boolean" };
  const type = schema.type ?? (schema.anyOf as { type?: string }[] | undefined)?.find((s) => s.type)?.type;
  const named = type === "boolean" || type === "integer" ? type : type === "number" ? "integer" : "string";
  return choices?.length ? { type: named, enum: choices } : { type: named };
}

function definitionName(operationId: string): string {
  return operationId.charAt(0).toUpperCase() + operationId.slice(1);
}

const API_ERROR = {
  type: "object",
  properties: {
    status: { type: "integer", description: "Status code of the response." },
    type: { type: "string", description: "Reference to the type of the error." },
    detail: { type: "string", description: "Details about the specific instance of the error." },
    title: { type: "string", description: "Unique error code to identify the type of error." },
    error_message: { type: "string", description: "Deprecated; alias for detail" },
    error_type: { type: "string", description: "Deprecated; alias for detail" },
  },
  required: ["status", "type", "title"],
};

/** Quay's responses block: the four refusals, then one success chosen by the verb. */
function responses(method: string): Record<string, unknown> {
  const refusal = (description: string) => ({ description, schema: { $ref: "#/definitions/ApiError" } });
  const success: Record<string, unknown> =
    method === "DELETE"
      ? { "204": { description: "Deleted" } }
      : method === "POST"
        ? { "201": { description: "Successful creation" } }
        : { "200": { description: "Successful invocation" } };
  return {
    "400": refusal("Bad Request"),
    "401": refusal("Session required"),
    "403": refusal("Unauthorized access"),
    "404": refusal("Not found"),
    ...success,
  };
}

function operation(route: DescribedRoute, path: string, tag: string, definitions: Record<string, unknown>) {
  const { doc } = route;
  const parameters: Record<string, unknown>[] = pathParameters(path);
  for (const [name, field] of Object.entries(doc.query?.shape ?? {})) {
    parameters.push({
      name,
      in: "query",
      required: !(field as z.ZodType).safeParse(undefined).success,
      description: (field as z.ZodType).description ?? "",
      ...queryType(inputSchema(field as z.ZodType)),
    });
  }
  if (doc.body) {
    const name = definitionName(doc.operationId);
    definitions[name] = inputSchema(doc.body);
    parameters.push({
      name: "body",
      in: "body",
      required: true,
      description: "Request body contents.",
      schema: { $ref: `#/definitions/${name}` },
    });
  }
  return {
    operationId: doc.operationId,
    parameters,
    description: doc.summary,
    tags: [tag],
    ...(isInternalRoute(route) ? { "x-internal": true } : {}),
    ...(doc.scope ? { security: [{ oauth2_implicit: [doc.scope] }] } : {}),
    responses: responses(route.method),
  };
}

function pathParameters(path: string): Record<string, unknown>[] {
  return [...path.matchAll(/\{([^}]+)\}/g)].map(([, name = ""]) => ({
    name,
    in: "path",
    required: true,
    description: PATH_PARAMETERS[name] ?? "",
    type: "string",
  }));
}

/** The registry's own origin, as `src/lib/public-url.ts` resolves it. */
export interface SwaggerOrigin {
  origin: string;
  host: string;
}

/** Quay's Swagger 2.0 discovery document for `routes`, served from `origin`. */
export function swaggerDocument(
  routes: readonly RouteEntry[],
  origin: SwaggerOrigin,
  includeInternal: boolean,
): Record<string, unknown> {
  const scheme = new URL(origin.origin).protocol.replace(":", "");
  const paths: Record<string, Record<string, unknown>> = {};
  const tags = new Map<string, string>();
  const definitions: Record<string, unknown> = { ApiError: API_ERROR };
  for (const route of describedRoutes(routes)) {
    if (!includeInternal && isInternalRoute(route)) continue;
    const path = openApiPath(route.path);
    const [tag, tagDescription] = tagOf(path);
    tags.set(tag, tagDescription);
    const swaggerPath = `/api/v1${path}`;
    const item = paths[swaggerPath] ?? {
      // Quay's x-name is its resource class (`endpoints.api.repository.Repository`); Wharf has no
      // classes, so it names the path by its tag and first operation.
      "x-name": `${tag}.${route.doc.operationId}`,
      "x-path": swaggerPath,
      "x-tag": tag,
      ...(path.includes("{") ? { parameters: pathParameters(path) } : {}),
    };
    paths[swaggerPath] = item;
    item[route.method.toLowerCase()] = operation(route, path, tag, definitions);
  }
  // Quay sorts the paths by their tag.
  const sorted = Object.entries(paths).sort(([, a], [, b]) => String(a["x-tag"]).localeCompare(String(b["x-tag"])));
  return {
    swagger: "2.0",
    host: origin.host,
    basePath: "/",
    schemes: [scheme],
    info: {
      version: "v1",
      title: "Wharf",
      description: "Quay's API, as Wharf serves it: repositories, users, organizations and their permissions.",
    },
    securityDefinitions: {
      oauth2_implicit: {
        type: "oauth2",
        flow: "implicit",
        authorizationUrl: `${origin.origin}/oauth/authorize`,
        scopes: SCOPES,
      },
    },
    paths: Object.fromEntries(sorted),
    definitions,
    tags: [...tags].map(([name, description]) => ({ name, description })).sort((a, b) => a.name.localeCompare(b.name)),
  };
}
