/**
 * Quay's `takeOwnership`: of an organization, the superuser joins its owners team; of a user, the
 * account becomes an organization the superuser owns (its password and tokens stop working).
 */
import { api, seg } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, useToast } from "../../components/feedback";
import { ConfirmDialog } from "../../components/Modal";
import { useFreshLogin } from "./fresh-login";

export function TakeOwnershipDialog({
  namespace,
  isUser,
  onClose,
  onChanged,
}: {
  namespace: string;
  isUser?: boolean;
  onClose: () => void;
  onChanged: () => void;
}) {
  const fresh = useFreshLogin();
  const toast = useToast();
  const take = useMutation(() => fresh(() => api("POST", `/superuser/takeownership/${seg(namespace)}`)));
  return (
    <ConfirmDialog
      open
      title={`Take ownership of ${namespace}?`}
      message={
        isUser
          ? `The user ${namespace} becomes an organization that you own: it can no longer sign in, and its repositories stay under the same name. This cannot be undone here.`
          : "You join the organization's owners team and can then manage it like any owner. The change is logged."
      }
      confirmLabel="Take ownership"
      busy={take.busy}
      onClose={onClose}
      onConfirm={async () => {
        if (await take.run()) {
          toast(isUser ? `${namespace} is now an organization you own` : `You are now an owner of ${namespace}`);
          onChanged();
          onClose();
        }
      }}
    >
      <ErrorBanner error={take.error} />
    </ConfirmDialog>
  );
}
