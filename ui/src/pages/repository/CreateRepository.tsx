/**
 * `/new`: Quay's "Create repository": a namespace (the user's own or an organization where they
 * may create), a name, a description and the visibility; `POST /api/v1/repository`, then the new
 * repository's page. The API judges the name (Quay's rule and its own words for a refusal).
 */
import { useState } from "react";
import { api } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { ErrorBanner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { PageHeader } from "../../components/Layout";
import { navigate, useLocation } from "../../router";
import { useSession } from "../../session";
import "./repository.css";

export default function CreateRepository() {
  const { user } = useSession();
  const location = useLocation();
  const toast = useToast();
  const namespaces = user
    ? [user.username, ...(user.organizations ?? []).filter((o) => o.can_create_repo !== false).map((o) => o.name)]
    : [];
  const wanted = location.search.get("namespace");
  const [namespace, setNamespace] = useState(wanted && namespaces.includes(wanted) ? wanted : (namespaces[0] ?? ""));
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [visibility, setVisibility] = useState<"public" | "private">("private");
  const create = useMutation(() =>
    api<{ namespace: string; name: string }>("POST", "/repository", {
      body: { namespace, repository: name.trim(), description, visibility },
    }),
  );

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const made = await create.run();
    if (!made) return;
    toast(`Created ${made.namespace}/${made.name}`);
    navigate(`/repository/${made.namespace}/${made.name}`);
  };

  return (
    <>
      <PageHeader title="Create repository" crumbs={[{ to: "/repository/", label: "Repositories" }]} />
      <form className="card create-repo" onSubmit={submit}>
        <ErrorBanner error={create.error} title="The repository was not created" />
        <div className="name-row">
          <SelectField
            label="Namespace"
            value={namespace}
            onChange={(e) => setNamespace(e.target.value)}
            options={namespaces.map((n) => ({ value: n, label: n }))}
          />
          <span className="slash" aria-hidden="true">
            /
          </span>
          <TextField
            label="Repository name"
            required
            value={name}
            maxLength={255}
            autoComplete="off"
            hint="Lowercase letters, digits, and . _ - / between them"
            onChange={(e) => setName(e.target.value)}
          />
        </div>
        <div className="field">
          <label htmlFor="new-repo-description">Description (Markdown)</label>
          <textarea id="new-repo-description" value={description} onChange={(e) => setDescription(e.target.value)} />
        </div>
        <fieldset className="visibility-choice">
          <legend>Visibility</legend>
          <label>
            <input
              type="radio"
              name="visibility"
              checked={visibility === "public"}
              onChange={() => setVisibility("public")}
            />
            <span>
              <strong>Public</strong>: anyone can pull; only those you allow can push.
            </span>
          </label>
          <label>
            <input
              type="radio"
              name="visibility"
              checked={visibility === "private"}
              onChange={() => setVisibility("private")}
            />
            <span>
              <strong>Private</strong>: only those you allow can see and pull.
            </span>
          </label>
        </fieldset>
        <button type="submit" className="btn btn-primary" disabled={create.busy || !name.trim() || !namespace}>
          {create.busy ? "Creating…" : "Create repository"}
        </button>
      </form>
    </>
  );
}
