/** Repositories (being built for issue #17). */
import { PageHeader } from "../../components/Layout";

export default function Screen() {
  return <PageHeader title="Repositories" />;
}
