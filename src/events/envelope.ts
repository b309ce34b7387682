/**
 * What every event carries besides its kind's own fields (docs/events.md): a unique id consumers
 * deduplicate by, when the change committed, where (namespace, repository by id and name), who
 * caused it (the actor) and from which client address. Kind-specific fields are in `data`, checked
 * per kind by the catalogue (src/events/catalogue.ts). Events travel as JSON: the outbox row, the
 * queue message and every subscriber see this shape.
 */
import { z } from "zod";

/**
 * Who caused a change. `user` and `robot` are accounts acting with a password, a session or a
 * registry token; `token` is an OAuth token (the API) or application token acting for user
 * `name`; `system` is Wharf itself (`autoprune`, `gc`, `mirror`; `builder` and `scanner`, the connectors' results); `anonymous` is nobody signed in (failed
 * logins, later). `id` is the account's id: a name can be reused after its account is deleted.
 */
export const actorSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("user"), name: z.string(), id: z.number().int() }),
  z.object({ kind: z.literal("robot"), name: z.string(), id: z.number().int() }),
  z.object({
    kind: z.literal("token"),
    name: z.string(),
    id: z.number().int(),
    token: z.enum(["oauth", "app"]),
  }),
  z.object({ kind: z.literal("system"), name: z.enum(["autoprune", "gc", "mirror", "builder", "scanner"]) }),
  z.object({ kind: z.literal("anonymous") }),
]);

export type Actor = z.infer<typeof actorSchema>;

/**
 * Who caused a change and from where: routes build it from the request (src/middleware/
 * event-scope.ts) and hand it down to the domain, across Durable Object RPC too (it is plain data);
 * scheduled work uses {@link systemOrigin}.
 */
export interface EventOrigin {
  actor: Actor;
  /** The client's address (`CF-Connecting-IP`) when a request caused the change, else null. */
  ip: string | null;
  /**
   * The client's `User-Agent` (at most 256 characters; src/lib/client-address.ts `userAgentOf`),
   * when a request sent one. The origin is where it travels because the origin is what already
   * crosses from the route through Durable Object RPC to the point where an event is made: no
   * route or RPC method gains a parameter. It is not part of the envelope (every event's shape
   * stays as documented); a kind that records it copies it into its `data` (`push_repo`).
   */
  userAgent?: string;
}

/** Wharf's own passes: auto-prune, garbage collection and mirror syncs, with no request behind them. */
export function systemOrigin(name: "autoprune" | "gc" | "mirror" | "builder" | "scanner"): EventOrigin {
  return { actor: { kind: "system", name }, ip: null };
}

/** The repository an event is about: its id (stable) and its name when the change committed. */
export const repositoryRefSchema = z.object({ id: z.number().int(), name: z.string() });

export type RepositoryRef = z.infer<typeof repositoryRefSchema>;

/** The envelope without `kind` and `data`, which the catalogue adds per kind. */
export const envelopeFields = {
  /** A UUID, unique per event: consumers deduplicate deliveries by it. */
  id: z.uuid(),
  /** When the change committed, unix milliseconds. */
  at: z.number().int().nonnegative(),
  /** The namespace (user or organization) the change happened in, when it has one. */
  namespace: z.string().nullable(),
  repository: repositoryRefSchema.nullable(),
  actor: actorSchema,
  ip: z.string().nullable(),
};

export interface Envelope {
  id: string;
  at: number;
  namespace: string | null;
  repository: RepositoryRef | null;
  actor: Actor;
  ip: string | null;
}
