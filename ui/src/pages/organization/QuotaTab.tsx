/** An organization's quota (being built for issue #17). */
import type { OrganizationTabProps } from "./types";

export default function Tab(_props: OrganizationTabProps) {
  return null;
}
