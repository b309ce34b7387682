/**
 * The API's search (Quay `endpoints/api/search.py`): `GET /api/v1/find/repositories`
 * (`conductRepoSearch`, pages of repositories with their stars and last change) and
 * `GET /api/v1/find/all` (`conductSearch`, repositories, namespaces, and for a signed-in caller
 * their teams and robots, ranked by Quay's kind weights times how closely each name matches). Only
 * what the viewer may see: repositories through `visibleTo`, namespaces that hold one.
 */
import { and, asc, eq, inArray, isNull, or } from "drizzle-orm";
import type { Db } from "../db/client";
import { repositories, teamMembers, teams, users, type User } from "../db/schema";
import { startsWith } from "../identity/entity-search";
import { visibleTo } from "../identity/permissions";
import { parseRobotName } from "../identity/robots";
import { grants, type Scope } from "../identity/scopes";
import { avatar } from "../identity/users";
import { liquidMetalScore } from "../lib/liquidmetal";
import { matchingRepositories, type RepositoryMatch } from "./repository-search";
import { shortName } from "./repository-name";
import { popularities } from "./repository-activity";
import { type CoreFacts, shardedCoreFacts } from "./core-page-facts";
import { clock } from "../lib/clock";

/** Quay's ENTITY_SEARCH_SCORE, TEAM_SEARCH_SCORE, REPOSITORY_SEARCH_SCORE. */
const ENTITY_SCORE = 1;
const TEAM_SCORE = 2;
const REPOSITORY_SCORE = 4;
/** One result of find/all: its name (a robot's short name too) and score rank it. */
type SearchResult = Record<string, unknown> & { name: string; score: number; short_name?: string };

/** Quay's SEARCH_RESULTS_PER_PAGE and SEARCH_MAX_RESULT_PAGE_COUNT defaults. */
export const FIND_PAGE_SIZE = 10;
export const FIND_MAX_PAGE = 10;
/** find/all looks up at most five of each kind (Quay's `limit=5`). */
const PER_KIND = 5;

/** Who searches: a user with their token's scopes (repo:read at least), or no one. */
export type Searcher = { user: User; scopes: readonly Scope[] } | undefined;

/** Quay's `search_entity_view`: a user, organization or robot as a search result. */
async function entityView(searcher: Searcher, entity: User) {
  const base = { name: entity.username, score: ENTITY_SCORE };
  if (entity.kind === "organization")
    return {
      title: "org",
      kind: "organization",
      avatar: await avatar(entity.username, entity.email, "org"),
      ...base,
      href: `/organization/${entity.username}`,
    };
  if (entity.kind === "robot") {
    const { namespace, shortname } = parseRobotName(entity.username)!;
    const owner = namespace === searcher?.user.username ? `/user/${namespace}` : `/organization/${namespace}`;
    return {
      title: "robot",
      kind: "robot",
      avatar: null,
      ...base,
      href: `${owner}?tab=robots&showRobot=${entity.username}`,
      short_name: shortname,
    };
  }
  return {
    title: "user",
    kind: "user",
    avatar: await avatar(entity.username, entity.email, "user"),
    ...base,
    href: `/user/${entity.username}`,
  };
}

/** The accounts of the namespaces of `matches`, by name. */
async function namespaceAccounts(db: Db, matches: RepositoryMatch[]): Promise<Map<string, User>> {
  const names = [...new Set(matches.map((m) => m.namespace))];
  if (names.length === 0) return new Map();
  const rows = await db.select().from(users).where(inArray(users.username, names)).all();
  return new Map(rows.map((u) => [u.username, u]));
}

/**
 * Quay's `repo_result_view`; `details` adds find/repositories' last_modified, stars and popularity.
 * A repository whose namespace's core is on a shard has its tags and pulls there: the page's shards
 * are asked about their own (./core-page-facts.ts), `DB`'s action counts added to its pulls.
 */
async function repositoryViews(env: Env, db: Db, searcher: Searcher, matches: RepositoryMatch[], details: boolean) {
  const now = clock.now();
  const [namespaces, popularity, cores] = await Promise.all([
    namespaceAccounts(db, matches),
    details
      ? popularities(
          db,
          matches.map((m) => m.id),
          now,
        )
      : new Map<number, number>(),
    details ? shardedCoreFacts(env, matches, now) : new Map<number, CoreFacts>(),
  ]);
  return Promise.all(
    matches.map(async (m) => {
      const kind = m.kind === "application" ? "application" : "repository";
      const owner = namespaces.get(m.namespace);
      const view: SearchResult = {
        kind,
        title: kind === "application" ? "app" : "repo",
        namespace: owner ? await entityView(searcher, owner) : null,
        name: shortName(m.name),
        description: m.description,
        is_public: m.visibility === "public",
        score: REPOSITORY_SCORE,
        href: `/${kind}/${m.name}`,
      };
      if (details) {
        const core = cores.get(m.id);
        const lastModifiedMs = core ? core.lastModifiedMs : m.lastModifiedMs;
        // Quay leaves last_modified out for a repository without tags.
        if (lastModifiedMs !== null) view.last_modified = Math.floor(lastModifiedMs / 1000);
        view.stars = m.stars;
        // Quay's popularity: the repository's action counts of the last week.
        view.popularity = (popularity.get(m.id) ?? 0) + (core?.pulls ?? 0);
      }
      return view;
    }),
  );
}

/**
 * `conductRepoSearch`: page `page` (clamped to 1…{@link FIND_MAX_PAGE}) of the repositories the
 * searcher can see matching `query`; an empty query lists them all, as Quay's generic listing.
 */
export async function findRepositories(env: Env, db: Db, searcher: Searcher, query: string, requestedPage: number) {
  const page = Math.min(Math.max(1, requestedPage), FIND_MAX_PAGE);
  const offset = (page - 1) * FIND_PAGE_SIZE;
  const matches = await matchingRepositories(db, searcher?.user, { query, limit: FIND_PAGE_SIZE, offset });
  return {
    results: await repositoryViews(env, db, searcher, matches.slice(0, FIND_PAGE_SIZE), true),
    has_additional: matches.length > FIND_PAGE_SIZE,
    page,
    page_size: FIND_PAGE_SIZE,
    start_index: offset,
  };
}

/**
 * Quay's `get_matching_user_teams` and `get_matching_admined_teams`: teams whose names start with
 * `query` that the searcher is in, and those of organizations they administer. A token's scopes
 * cap the organization role as everywhere: teams need org:admin or repo:create, administered
 * organizations org:admin.
 */
async function teamResults(db: Db, searcher: NonNullable<Searcher>, query: string, rights: SearchRights) {
  if (!rights.teams) return [];
  const own = db
    .select({ teamId: teamMembers.teamId })
    .from(teamMembers)
    .where(eq(teamMembers.userId, searcher.user.id));
  const administered = db
    .select({ orgId: teams.organizationId })
    .from(teams)
    .innerJoin(teamMembers, eq(teamMembers.teamId, teams.id))
    .where(and(eq(teamMembers.userId, searcher.user.id), eq(teams.role, "admin")));
  const rows = await db
    .select({ team: teams, org: users })
    .from(teams)
    .innerJoin(users, eq(users.id, teams.organizationId))
    .where(
      and(
        startsWith(teams.name, query),
        isNull(users.deletingSince),
        rights.administeredTeams
          ? or(inArray(teams.id, own), inArray(teams.organizationId, administered))
          : inArray(teams.id, own),
      ),
    )
    .orderBy(asc(teams.name), asc(teams.id))
    .limit(PER_KIND * 2)
    .all();
  return Promise.all(
    rows.map(async ({ team, org }) => ({
      kind: "team",
      name: team.name,
      organization: await entityView(searcher, org),
      avatar: await avatar(team.name, null, "team"),
      score: TEAM_SCORE,
      href: `/organization/${org.username}/teams/${team.name}`,
    })),
  );
}

interface SearchRights {
  teams: boolean;
  administeredTeams: boolean;
  ownRobots: boolean;
}

/**
 * Quay's `get_matching_robots`: robots of the searcher's own namespace (with user:admin, the scope
 * of its robot list) and of the organizations they administer (with org:admin) whose short names
 * start with `query`.
 */
async function robotResults(db: Db, searcher: NonNullable<Searcher>, query: string, rights: SearchRights) {
  const namespaces: string[] = [];
  if (rights.ownRobots) namespaces.push(searcher.user.username);
  if (rights.administeredTeams) {
    const orgs = await db
      .selectDistinct({ name: users.username })
      .from(teamMembers)
      .innerJoin(teams, and(eq(teams.id, teamMembers.teamId), eq(teams.role, "admin")))
      .innerJoin(users, eq(users.id, teams.organizationId))
      .where(and(eq(teamMembers.userId, searcher.user.id), isNull(users.deletingSince)))
      .all();
    namespaces.push(...orgs.map((o) => o.name));
  }
  if (namespaces.length === 0) return [];
  const robots = await db
    .select()
    .from(users)
    .where(and(eq(users.kind, "robot"), or(...namespaces.map((ns) => startsWith(users.username, `${ns}+${query}`)))))
    .orderBy(asc(users.username))
    .limit(PER_KIND)
    .all();
  return Promise.all(robots.map((robot) => entityView(searcher, robot)));
}

/** Quay's `get_matching_user_namespaces`: users and organizations holding a repository the searcher can see. */
async function namespaceResults(db: Db, searcher: Searcher, query: string) {
  const holding = db
    .selectDistinct({ namespace: repositories.namespace })
    .from(repositories)
    .where(and(visibleTo(db, searcher?.user), startsWith(repositories.namespace, query)));
  const rows = await db
    .select()
    .from(users)
    .where(and(inArray(users.username, holding), isNull(users.deletingSince)))
    .orderBy(asc(users.username))
    .limit(PER_KIND)
    .all();
  return Promise.all(rows.map((entity) => entityView(searcher, entity)));
}

/**
 * `conductSearch`: for a signed-in searcher their teams and robots, then (for anyone) repositories
 * and namespaces; each score is Quay's kind weight times the LiquidMetal score of the name (a
 * robot's short name) against the query, 0.5 where that is 0; best first. An empty query finds
 * nothing, as in Quay.
 */
export async function findAll(env: Env, db: Db, searcher: Searcher, query: string) {
  if (!query) return { results: [] };
  // Names are lower-case; Quay's prefix searches ignore case.
  const prefix = query.toLowerCase();
  const results: SearchResult[] = [];
  if (searcher) {
    const rights: SearchRights = {
      teams: grants(searcher.scopes, "org:admin") || grants(searcher.scopes, "repo:create"),
      administeredTeams: grants(searcher.scopes, "org:admin"),
      ownRobots: grants(searcher.scopes, "user:admin"),
    };
    results.push(...(await teamResults(db, searcher, prefix, rights)));
    results.push(...(await robotResults(db, searcher, prefix, rights)));
  }
  const repositoryMatches = await matchingRepositories(db, searcher?.user, { query, limit: PER_KIND, offset: 0 });
  results.push(...(await repositoryViews(env, db, searcher, repositoryMatches.slice(0, PER_KIND), false)));
  results.push(...(await namespaceResults(db, searcher, prefix)));
  for (const result of results)
    result.score = result.score * (liquidMetalScore(result.short_name ?? result.name, query) || 0.5);
  return { results: results.sort((a, b) => b.score - a.score) };
}
