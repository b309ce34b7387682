/** The repositories of one namespace (an organization's or a user's page), Quay's "Repositories" tab. */
import { EmptyState } from "../../components/feedback";
import { Link } from "../../router";
import { PushInstructions } from "./PushInstructions";
import { RepositoryTable } from "./RepositoryTable";

export default function NamespaceRepositories({ namespace }: { namespace: string }) {
  return (
    <RepositoryTable
      query={{ namespace }}
      showNamespace={false}
      empty={
        <EmptyState title={`${namespace} has no repositories you can see`}>
          <p>
            <Link to={`/new?namespace=${encodeURIComponent(namespace)}`}>Create a repository</Link>, or push an image
            and the repository is created on the first push:
          </p>
          <PushInstructions repository={`${namespace}/<name>`} />
        </EmptyState>
      }
    />
  );
}
