/**
 * Quay's avatar object (`{name, hash, color, kind}`) drawn without fetching anything: the name's
 * initial on the account's colour. Quay's palette has light and dark colours, so the letter is
 * black or white, whichever reads better on it.
 */
export interface AvatarData {
  name: string;
  hash?: string;
  color?: string;
  kind?: string;
}

/** WCAG relative luminance of a `#rrggbb` colour (0 black … 1 white). */
function luminance(hex: string): number {
  const channels = [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16) / 255);
  const [r, g, b] = channels.map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

export function Avatar({ avatar, size = 32 }: { avatar: AvatarData; size?: number }) {
  const color = /^#[0-9a-f]{6}$/i.test(avatar.color ?? "") ? avatar.color! : "#969696";
  // White text reaches 4.5:1 only on colours darker than about 0.18 luminance.
  const ink = luminance(color) > 0.18 ? "#000" : "#fff";
  return (
    <span
      className="avatar"
      aria-hidden="true"
      style={{ background: color, color: ink, width: size, height: size, fontSize: size * 0.5 }}
    >
      {(avatar.name[0] ?? "?").toUpperCase()}
    </span>
  );
}
