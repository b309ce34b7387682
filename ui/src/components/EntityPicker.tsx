/**
 * Picks a user, robot or team by name, as Quay's permission dialogs do: typing asks
 * `GET /api/v1/entities/{prefix}` (with `namespace` for that organization's robots and teams) and
 * offers the matches in a listbox (WAI-ARIA combobox: arrows move, Enter picks, Escape closes).
 * Used wherever a grant names an entity: repository permissions and notifications, an
 * organization's default permissions and team members (each offering only the kinds it takes).
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import { api, seg } from "../api/client";
import "./entity-picker.css";

/** One match, in Quay's EntitySearch fields. */
export interface Entity {
  name: string;
  kind: "user" | "team" | "org";
  is_robot?: boolean;
  is_org_member?: boolean;
}

export type EntityKind = "user" | "robot" | "team";

/** What a person reads for an entity's kind. */
export const entityKind = (e: Entity): EntityKind => (e.kind === "team" ? "team" : e.is_robot ? "robot" : "user");

export const entityLabel = (e: Entity) => (e.kind === "org" ? "organization" : entityKind(e));

const ALL_KINDS: readonly EntityKind[] = ["user", "robot", "team"];

/** "user, robot or team", for the placeholder and the no-match hint. */
const kindWords = (kinds: readonly EntityKind[]) =>
  kinds.length > 1 ? `${kinds.slice(0, -1).join(", ")} or ${kinds[kinds.length - 1]}` : (kinds[0] ?? "");

export function EntityPicker({
  label,
  namespace,
  kinds = ALL_KINDS,
  includeOrgs = false,
  value,
  onPick,
  hint,
}: {
  label: string;
  /** The organization (or user) whose robots and teams may be picked. */
  namespace: string;
  /** Which kinds to offer (teams are asked for only when offered). */
  kinds?: readonly EntityKind[];
  /** Offer the organization itself (Quay's in-app notifications to its administrators). */
  includeOrgs?: boolean;
  value: Entity | null;
  onPick: (entity: Entity | null) => void;
  hint?: string;
}) {
  const id = useId();
  const [text, setText] = useState(value?.name ?? "");
  const [matches, setMatches] = useState<Entity[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);
  // A string, so that a caller's new array of the same kinds does not search again.
  const kindList = kinds.join(",");

  // The parent picks (or clears after use): show the pick, and clear the text it left behind.
  const picked = useRef<string | null>(null);
  useEffect(() => {
    if (value) {
      picked.current = value.name;
      setText(value.name);
    } else if (picked.current !== null) {
      setText((current) => (current === picked.current ? "" : current));
      picked.current = null;
    }
  }, [value]);

  useEffect(() => {
    // A robot's full name `ns+short`: the API matches robots by their short name.
    const prefix = text.includes("+") ? text.slice(text.indexOf("+") + 1) : text.trim();
    if (!prefix || value?.name === text) {
      setMatches([]);
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api<{ results: Entity[] }>("GET", `/entities/${seg(prefix)}`, {
        signal: controller.signal,
        query: {
          namespace,
          includeTeams: kindList.includes("team") ? "true" : undefined,
          includeOrgs: includeOrgs ? "true" : undefined,
        },
      })
        .then((answer) => {
          const offered = kindList.split(",");
          setMatches(answer.results.filter((e) => (e.kind === "org" ? includeOrgs : offered.includes(entityKind(e)))));
          setActive(0);
          setOpen(true);
          setProblem(null);
        })
        .catch((err) => {
          if ((err as Error).name !== "AbortError") setProblem((err as Error).message);
        });
    }, 200);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [text, namespace, kindList, includeOrgs, value]);

  const pick = (entity: Entity) => {
    onPick(entity);
    setText(entity.name);
    setOpen(false);
  };
  const key = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown" && matches.length) {
      event.preventDefault();
      setOpen(true);
      setActive((i) => (i + 1) % matches.length);
    } else if (event.key === "ArrowUp" && matches.length) {
      event.preventDefault();
      setActive((i) => (i - 1 + matches.length) % matches.length);
    } else if (event.key === "Enter" && open && matches[active]) {
      event.preventDefault();
      pick(matches[active]);
    } else if (event.key === "Escape" && open) {
      // Closes the list only, not a dialog the picker is in.
      event.preventDefault();
      setOpen(false);
    }
  };
  const listId = `${id}-list`;
  const showList = open && text.trim() !== "" && value?.name !== text;
  return (
    <div className="field entity-picker">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        role="combobox"
        aria-expanded={showList}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-activedescendant={showList && matches[active] ? `${id}-opt-${active}` : undefined}
        autoComplete="off"
        placeholder={`${kindWords(kinds).replace(/^./, (c) => c.toUpperCase())} name`}
        aria-describedby={hint ? `${id}-hint` : undefined}
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (value) onPick(null);
        }}
        onKeyDown={key}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      {hint ? (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      ) : null}
      <div
        id={listId}
        role="listbox"
        aria-label={`${label} matches`}
        className="entity-list"
        hidden={!showList || !matches.length}
      >
        {matches.map((entity, i) => (
          <div
            key={`${entity.kind}:${entity.name}`}
            id={`${id}-opt-${i}`}
            role="option"
            tabIndex={-1}
            aria-selected={i === active}
            className={i === active ? "entity-option entity-active" : "entity-option"}
            onMouseDown={(e) => {
              e.preventDefault();
              pick(entity);
            }}
          >
            <span>{entity.name}</span> <span className="badge">{entityLabel(entity)}</span>
          </div>
        ))}
      </div>
      {showList && matches.length === 0 ? (
        <small className="hint" role="status">
          No matching {kindWords(kinds)}
        </small>
      ) : null}
      {problem ? (
        <small className="hint" role="alert">
          {problem}
        </small>
      ) : null}
    </div>
  );
}
