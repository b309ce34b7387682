/**
 * A robot's repository permissions (`GET …/robots/{short}/permissions`), in a dialog from the
 * robot list. Roles are given in each repository's settings, or by a default permission.
 */
import { seg } from "../../api/client";
import { useApi } from "../../api/hooks";
import { EmptyState, ErrorBanner, Spinner } from "../../components/feedback";
import { Modal } from "../../components/Modal";
import { Link } from "../../router";
import { shortNameOf } from "./RobotCredentials";
import { roleLabel } from "./TeamRoles";

interface Permission {
  repository: { name: string; is_public: boolean };
  role: string;
}

export function RobotPermissions({
  base,
  robot,
  onClose,
}: {
  base: string;
  /** The robot's full name (`namespace+short`), or null when closed. */
  robot: string | null;
  onClose: () => void;
}) {
  const permissions = useApi<{ permissions: Permission[] }>(
    robot ? `${base}/${seg(shortNameOf(robot))}/permissions` : null,
  );
  const namespace = robot ? robot.slice(0, robot.indexOf("+")) : "";
  const rows = permissions.data?.permissions ?? [];
  return (
    <Modal
      title={robot ? `Repository permissions of ${robot}` : "Repository permissions"}
      open={robot !== null}
      onClose={onClose}
    >
      <ErrorBanner error={permissions.error} />
      {permissions.loading ? <Spinner label="Loading permissions" /> : null}
      {!permissions.loading && permissions.data && rows.length === 0 ? (
        <EmptyState title="No repository permissions">
          <p>Give the robot a role in a repository's settings, or with a default permission.</p>
        </EmptyState>
      ) : null}
      {!permissions.loading && rows.length ? (
        <div className="table-wrap org-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Repository permissions of {robot}</caption>
            <thead>
              <tr>
                <th scope="col">Repository</th>
                <th scope="col">Role</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((p) => (
                <tr key={p.repository.name}>
                  <td>
                    <Link to={`/repository/${seg(namespace)}/${p.repository.name.split("/").map(seg).join("/")}`}>
                      {p.repository.name}
                    </Link>
                  </td>
                  <td>{roleLabel(p.role)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Modal>
  );
}
