/** The repository's settings (being built for issue #17). */
import type { RepositoryTabProps } from "./types";

export default function Tab(_props: RepositoryTabProps) {
  return null;
}
