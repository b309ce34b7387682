/**
 * The repository's Settings tab (its administrators only), in Quay's order: permissions,
 * notifications, auto-prune policies, then description, visibility, state and deletion. Each
 * section starts its own request as the tab mounts, so they load side by side.
 */
import { useFeature } from "../../session";
import { AutoPruneSection } from "./settings-autoprune";
import { DeleteSection, DescriptionSection, StateSection, VisibilitySection } from "./settings-general";
import { NotificationsSection } from "./settings-notifications";
import { PermissionsSection } from "./settings-permissions";
import type { RepositoryTabProps } from "./types";
import "./repository-more.css";

export default function SettingsTab(props: RepositoryTabProps) {
  // Quay's public /config tells the features; a registry that does not say has them (Wharf's defaults).
  const autoPrune = useFeature("AUTO_PRUNE", true);
  const mirroring = useFeature("REPO_MIRROR", true);
  if (!props.repo.can_admin) return <p>Only the repository's administrators can change its settings.</p>;
  return (
    <div className="repository-settings">
      <PermissionsSection {...props} />
      <NotificationsSection {...props} />
      {autoPrune ? <AutoPruneSection {...props} /> : null}
      <DescriptionSection {...props} />
      <VisibilitySection {...props} />
      <StateSection {...props} mirroring={mirroring} />
      <DeleteSection {...props} />
    </div>
  );
}
