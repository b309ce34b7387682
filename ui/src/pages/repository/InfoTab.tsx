/** The repository's information tab: description, pull commands (being built for issue #17). */
import type { RepositoryTabProps } from "./types";

export default function Tab(_props: RepositoryTabProps) {
  return null;
}
