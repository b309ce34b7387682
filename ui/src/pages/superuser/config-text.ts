/**
 * A pasted configuration as the object `POST /api/v1/superuser/config/validate` takes: JSON, or
 * the flat `KEY: value` (YAML, as Quay's config.yaml) or `KEY = value` (wrangler.toml's [vars])
 * lines an operator has at hand. The server does the checking (src/config.ts); this only turns the
 * text into keys and values, and says which line it could not read rather than guessing.
 */

export type ParsedConfig = { config: Record<string, unknown> } | { error: string };

/** One scalar as YAML or TOML writes it: quoted text, true/false, null, a number, or a `[a, b]` list. */
function scalar(raw: string): unknown {
  const text = raw.trim();
  if (text === "" || text === "~" || text === "null") return null;
  if (text === "true" || text === "false") return text === "true";
  if ((text.startsWith('"') && text.endsWith('"')) || (text.startsWith("'") && text.endsWith("'"))) {
    return text.length >= 2 ? text.slice(1, -1) : text;
  }
  if (text.startsWith("[") && text.endsWith("]")) {
    const inner = text.slice(1, -1).trim();
    return inner === "" ? [] : inner.split(",").map((item) => scalar(item));
  }
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  return text;
}

/** A `#` comment at the end of a line, outside quotes. */
function withoutComment(line: string): string {
  let quote: string | null = null;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
    } else if (ch === "#" && (i === 0 || /\s/.test(line[i - 1] ?? ""))) {
      return line.slice(0, i);
    }
  }
  return line;
}

export function parseConfigText(text: string): ParsedConfig {
  const trimmed = text.trim();
  if (trimmed === "") return { error: "Paste a configuration first." };
  if (trimmed.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
        return { config: parsed as Record<string, unknown> };
      }
      return { error: "The JSON must be an object of keys and values." };
    } catch (err) {
      return { error: `This is not valid JSON: ${(err as Error).message}` };
    }
  }
  const config: Record<string, unknown> = {};
  const lines = trimmed.split(/\r?\n/);
  for (const [index, rawLine] of lines.entries()) {
    const line = withoutComment(rawLine).trim();
    // Blank lines, a TOML table header ([vars]) and YAML's document marker carry no setting.
    if (line === "" || line === "---" || /^\[[A-Za-z0-9_.-]+\]$/.test(line)) continue;
    const match = line.match(/^["']?([A-Za-z_][A-Za-z0-9_]*)["']?\s*[:=]\s*(.*)$/);
    if (!match) return { error: `Line ${index + 1} is not KEY: value or KEY = value: ${line}` };
    const [, key, value] = match as unknown as [string, string, string];
    config[key] = scalar(value);
  }
  if (Object.keys(config).length === 0) return { error: "No KEY: value line was found." };
  return { config };
}
