/**
 * A picker for a person, robot or team of an organization (Quay's entity search): a combobox over
 * `GET /api/v1/entities/{prefix}?namespace=…` (WAI-ARIA combobox with a listbox popup: arrows move,
 * Enter picks, Escape closes). Robots are found by their short name, as Quay's search does.
 */
import { useEffect, useId, useRef, useState, type KeyboardEvent } from "react";
import { api, seg } from "../../api/client";
import "./organization.css";

export interface Entity {
  name: string;
  /** `user` (robots too, with is_robot), `team` or `org`. */
  kind: string;
  is_robot?: boolean;
  is_org_member?: boolean;
}

export type EntityKind = "user" | "robot" | "team";

/** What a person reads for an entity's kind. */
export function entityKind(entity: Entity): EntityKind {
  if (entity.kind === "team") return "team";
  return entity.is_robot ? "robot" : "user";
}

export function EntitySelect({
  label,
  namespace,
  kinds,
  value,
  onChange,
  hint,
}: {
  label: string;
  namespace: string;
  /** Which kinds to offer. */
  kinds: EntityKind[];
  value: Entity | null;
  onChange: (entity: Entity | null) => void;
  hint?: string;
}) {
  const id = useId();
  const [text, setText] = useState(value?.name ?? "");
  const [results, setResults] = useState<Entity[]>([]);
  const [open, setOpen] = useState(false);
  const [active, setActive] = useState(-1);
  const [problem, setProblem] = useState<string | null>(null);
  /** The prefix the shown results answer (so "no match" is said only once the answer came). */
  const [answered, setAnswered] = useState("");
  const kindList = kinds.join(",");
  const chosen = useRef(value);
  chosen.current = value;

  useEffect(() => {
    setText(value?.name ?? "");
  }, [value]);

  // Search as the person types, a moment after they stop (one request per pause, the stale ones aborted).
  useEffect(() => {
    const prefix = text.trim();
    if (!prefix || (chosen.current && chosen.current.name === prefix)) {
      setResults([]);
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      api<{ results: Entity[] }>("GET", `/entities/${seg(prefix)}`, {
        signal: controller.signal,
        query: { namespace, includeTeams: kindList.includes("team") },
      })
        .then((answer) => {
          const offered = kindList.split(",");
          const wanted = answer.results.filter((e) => e.kind !== "org" && offered.includes(entityKind(e)));
          setResults(wanted);
          setAnswered(prefix);
          setActive(wanted.length ? 0 : -1);
          setProblem(null);
        })
        .catch((err: Error) => {
          if (err.name !== "AbortError") setProblem(err.message);
        });
    }, 200);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [text, namespace, kindList]);

  const pick = (entity: Entity) => {
    onChange(entity);
    setText(entity.name);
    setOpen(false);
    setResults([]);
  };

  const key = (event: KeyboardEvent<HTMLInputElement>) => {
    if (event.key === "ArrowDown" && results.length) {
      event.preventDefault();
      setOpen(true);
      setActive((i) => (i + 1) % results.length);
    } else if (event.key === "ArrowUp" && results.length) {
      event.preventDefault();
      setActive((i) => (i <= 0 ? results.length - 1 : i - 1));
    } else if (event.key === "Enter" && open && results[active]) {
      event.preventDefault();
      pick(results[active]!);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      setOpen(false);
    }
  };

  const listId = `${id}-list`;
  const showList = open && results.length > 0;
  return (
    <div className="field entity-select">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        type="text"
        role="combobox"
        autoComplete="off"
        aria-autocomplete="list"
        aria-expanded={showList}
        aria-controls={listId}
        aria-activedescendant={showList && active >= 0 ? `${id}-opt-${active}` : undefined}
        aria-describedby={hint ? `${id}-hint` : undefined}
        value={text}
        onChange={(event) => {
          setText(event.target.value);
          setOpen(true);
          if (value) onChange(null);
        }}
        onKeyDown={key}
        onBlur={() => setTimeout(() => setOpen(false), 150)}
      />
      {hint ? (
        <small id={`${id}-hint`} className="hint">
          {hint}
        </small>
      ) : null}
      <div id={listId} role="listbox" aria-label={`${label}: matches`} hidden={!showList}>
        {results.map((entity, index) => (
          // biome-ignore lint/a11y/useKeyWithClickEvents: the combobox's input takes the keys (arrows, Enter), as WAI-ARIA's pattern has it.
          <div
            key={`${entity.kind}:${entity.name}`}
            id={`${id}-opt-${index}`}
            role="option"
            tabIndex={-1}
            aria-selected={index === active}
            onMouseDown={(event) => event.preventDefault()}
            onClick={() => pick(entity)}
          >
            {entity.name}
            <span className="entity-kind">{entityKind(entity)}</span>
          </div>
        ))}
      </div>
      {problem ? (
        <small className="hint" role="alert">
          {problem}
        </small>
      ) : null}
      {open && text.trim() && text.trim() === answered && !value && results.length === 0 && !problem ? (
        <small className="hint" aria-live="polite">
          No match for this name.
        </small>
      ) : null}
    </div>
  );
}
