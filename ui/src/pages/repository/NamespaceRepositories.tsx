/** The repositories of one namespace (an organization's or a user's page) (being built for issue #17). */
export default function NamespaceRepositories(_props: { namespace: string }) {
  return null;
}
