/** The repository's tag history, with restore (being built for issue #17). */
import type { RepositoryTabProps } from "./types";

export default function Tab(_props: RepositoryTabProps) {
  return null;
}
