/**
 * `/organizations/new`: `POST /api/v1/organization/` with a name and, optionally, an email (Quay
 * asks one only to mail the organization; Wharf's API takes it as optional), then the new
 * organization's page. The creator owns it (Quay: the `owners` team).
 */
import { useState, type FormEvent } from "react";
import { api } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, useToast } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { PageHeader } from "../../components/Layout";
import { navigate } from "../../router";
import { useSession } from "../../session";
import "./organization.css";

/** Quay's namespace grammar: what the API would refuse, said before asking it. */
export const NAME_PATTERN = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

export function nameProblem(name: string, what: string): string | null {
  if (name.length < 2 || name.length > 255) return `The ${what} name must be between 2 and 255 characters long.`;
  if (!NAME_PATTERN.test(name))
    return `The ${what} name may hold only lower-case letters, digits and single '.', '_' or '-' between them.`;
  return null;
}

export default function CreateOrganization() {
  const { refresh } = useSession();
  const toast = useToast();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutation((body: { name: string; email?: string }) => api("POST", "/organization/", { body }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const trimmed = name.trim();
    const wrong = nameProblem(trimmed, "organization");
    setProblem(wrong);
    if (wrong) return;
    const done = await create.run({ name: trimmed, ...(email.trim() ? { email: email.trim() } : {}) });
    if (done === undefined) return;
    await refresh();
    toast(`Organization ${trimmed} created`);
    navigate(`/organization/${encodeURIComponent(trimmed)}`);
  };

  return (
    <>
      <PageHeader title="Create organization" crumbs={[{ to: "/organization/", label: "Organizations" }]} />
      <form className="card org-form" onSubmit={submit} noValidate>
        <TextField
          label="Organization name"
          required
          autoFocus
          value={name}
          onChange={(e) => setName(e.target.value)}
          hint="Lower-case letters, digits, and '.', '_' or '-' between them; 2 to 255 characters."
        />
        <TextField
          label="Email (optional)"
          type="email"
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          hint="Where the registry writes to the organization."
        />
        {problem ? (
          <div className="banner banner-error" role="alert">
            {problem}
          </div>
        ) : null}
        <ErrorBanner error={create.error} />
        <button type="submit" className="btn btn-primary" disabled={create.busy}>
          {create.busy ? "Creating…" : "Create organization"}
        </button>
      </form>
    </>
  );
}
