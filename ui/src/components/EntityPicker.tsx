/**
 * Picks a user, robot or team by name, as Quay's permission dialogs do: typing asks
 * `GET /api/v1/entities/{prefix}` (with `namespace` for that organization's robots and teams) and
 * offers the matches in a listbox (WAI-ARIA combobox: arrows move, Enter picks, Escape closes).
 * Reusable wherever a grant names an entity (repository permissions, default permissions).
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

export const entityLabel = (e: Entity) =>
  e.kind === "team" ? "team" : e.kind === "org" ? "organization" : e.is_robot ? "robot" : "user";

export function EntityPicker({
  label,
  namespace,
  includeTeams = true,
  includeOrgs = false,
  value,
  onPick,
}: {
  label: string;
  /** The organization (or user) whose robots and teams may be picked. */
  namespace: string;
  includeTeams?: boolean;
  /** Offer the organization itself (Quay's in-app notifications to its administrators). */
  includeOrgs?: boolean;
  value: Entity | null;
  onPick: (entity: Entity | null) => void;
}) {
  const id = useId();
  const [text, setText] = useState(value?.name ?? "");
  const [matches, setMatches] = useState<Entity[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(0);
  const [problem, setProblem] = useState<string | null>(null);

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
          includeTeams: includeTeams ? "true" : undefined,
          includeOrgs: includeOrgs ? "true" : undefined,
        },
      })
        .then((answer) => {
          setMatches(answer.results.filter((e) => includeOrgs || e.kind !== "org"));
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
  }, [text, namespace, includeTeams, includeOrgs, value]);

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
    } else if (event.key === "Escape") {
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
        placeholder="User, robot or team name"
        value={text}
        onChange={(e) => {
          setText(e.target.value);
          if (value) onPick(null);
        }}
        onKeyDown={key}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
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
          No matching user, robot or team
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
