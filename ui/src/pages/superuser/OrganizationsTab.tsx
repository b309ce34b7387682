/**
 * The superuser's Organizations tab (Quay's superuser "Organizations"): every organization with its
 * email; rename, delete, and take ownership (the superuser joins its owners team, Quay's
 * `takeOwnership`), each behind the fresh-login prompt; and its fair-use override (Wharf's, issue #19).
 */
import { useState } from "react";
import { api, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, useToast } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { ConfirmDialog } from "../../components/Modal";
import { Link } from "../../router";
import { FairUseDialog } from "./FairUseDialog";
import { FormDialog } from "./FormDialog";
import { TakeOwnershipDialog } from "./TakeOwnershipDialog";
import { useFreshLogin } from "./fresh-login";
import { usePagedList } from "./paged";
import { LoadMoreButton, PagedListStatus, searched } from "./PagedListParts";
import { RowActions } from "./RowActions";
import type { SuperuserOrganization } from "./types";

type Dialog = { kind: "rename" | "delete" | "takeownership" | "fairuse"; org: SuperuserOrganization };

const NOUNS = { one: "organization", many: "organizations" };

export default function OrganizationsTab() {
  const list = usePagedList<SuperuserOrganization>("/superuser/organizations/", "organizations");
  const [search, setSearch] = useState("");
  const [dialog, setDialog] = useState<Dialog | null>(null);
  const shown = searched(list.items, search.trim().toLowerCase(), (o) => o.name);
  const close = () => setDialog(null);

  return (
    <section aria-labelledby="su-orgs-title">
      <h2 id="su-orgs-title" className="visually-hidden">
        Organizations
      </h2>
      <div className="toolbar">
        <TextField
          label="Search organizations"
          type="search"
          placeholder="Name or email"
          value={search}
          onChange={(e) => setSearch(e.target.value)}
        />
      </div>
      <ErrorBanner error={list.error} />
      <PagedListStatus
        list={list}
        shown={shown.length}
        search={search}
        nouns={NOUNS}
        emptyTitle="No organizations yet"
      />
      {shown.length ? (
        <div className="table-wrap su-table-wrap">
          <table className="data">
            <caption className="visually-hidden">Organizations of this registry</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col" className="su-wide-only">
                  Email
                </th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.map((org) => (
                <tr key={org.name} data-organization={org.name}>
                  <td>
                    <Link to={`/organization/${seg(org.name)}`}>{org.name}</Link>
                    <div className="su-narrow-only">{org.email ?? ""}</div>
                  </td>
                  <td className="su-wide-only">{org.email ?? "—"}</td>
                  <td className="su-actions-cell">
                    <RowActions
                      label={`Actions for ${org.name}`}
                      actions={[
                        { label: "Rename", onSelect: () => setDialog({ kind: "rename", org }) },
                        { label: "Take ownership", onSelect: () => setDialog({ kind: "takeownership", org }) },
                        { label: "Fair use", onSelect: () => setDialog({ kind: "fairuse", org }) },
                        { label: "Delete", danger: true, onSelect: () => setDialog({ kind: "delete", org }) },
                      ]}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <LoadMoreButton list={list} nouns={NOUNS} />
      {dialog?.kind === "rename" ? <RenameDialog org={dialog.org} onClose={close} onChanged={list.reload} /> : null}
      {dialog?.kind === "delete" ? <DeleteDialog org={dialog.org} onClose={close} onChanged={list.reload} /> : null}
      {dialog?.kind === "fairuse" ? <FairUseDialog org={dialog.org.name} onClose={close} /> : null}
      {dialog?.kind === "takeownership" ? (
        <TakeOwnershipDialog namespace={dialog.org.name} onClose={close} onChanged={list.reload} />
      ) : null}
    </section>
  );
}

interface DialogProps {
  org: SuperuserOrganization;
  onClose: () => void;
  onChanged: () => void;
}

function RenameDialog({ org, onClose, onChanged }: DialogProps) {
  const fresh = useFreshLogin();
  const toast = useToast();
  const [name, setName] = useState(org.name);
  const rename = useMutation(() =>
    fresh(() =>
      api<SuperuserOrganization>("PUT", `/superuser/organizations/${seg(org.name)}`, { body: { name: name.trim() } }),
    ),
  );
  return (
    <FormDialog
      title={`Rename organization ${org.name}`}
      submitLabel={rename.busy ? "Renaming…" : "Rename"}
      busy={rename.busy}
      onClose={onClose}
      onSubmit={async () => {
        const renamed = await rename.run();
        if (renamed) {
          toast(`Organization ${org.name} is now ${renamed.name}`);
          onChanged();
          onClose();
        }
      }}
    >
      <TextField label="New name" required autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />
      <ErrorBanner error={rename.error} />
    </FormDialog>
  );
}

function DeleteDialog({ org, onClose, onChanged }: DialogProps) {
  const fresh = useFreshLogin();
  const toast = useToast();
  const remove = useMutation(() => fresh(() => api("DELETE", `/superuser/organizations/${seg(org.name)}`)));
  return (
    <ConfirmDialog
      open
      title={`Delete organization ${org.name}?`}
      message="Its repositories, teams, robot accounts and applications go for good, and the name becomes free again."
      busy={remove.busy}
      onClose={onClose}
      onConfirm={async () => {
        if ((await remove.run()) !== undefined) {
          toast(`Organization ${org.name} deleted`);
          onChanged();
          onClose();
        }
      }}
    >
      <ErrorBanner error={remove.error} />
    </ConfirmDialog>
  );
}
