/** A namespace's auto-prune policies (being built for issue #17). */
import type { NamespaceProps } from "./types";

export default function Tab(_props: NamespaceProps) {
  return null;
}
