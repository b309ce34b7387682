/** Quay's "Fetch tag": podman and docker pull commands by tag and by digest, each with a copy button. */
import { CopyField } from "../../components/CopyField";

export function PullCommands({ repository, tag, digest }: { repository: string; tag?: string; digest?: string }) {
  const image = `${location.host}/${repository}`;
  return (
    <div className="pull-commands">
      {tag ? (
        <>
          <CopyField label={`Podman pull (by tag ${tag})`} value={`podman pull ${image}:${tag}`} />
          <CopyField label={`Docker pull (by tag ${tag})`} value={`docker pull ${image}:${tag}`} />
        </>
      ) : null}
      {digest ? (
        <>
          <CopyField label="Podman pull (by digest)" value={`podman pull ${image}@${digest}`} />
          <CopyField label="Docker pull (by digest)" value={`docker pull ${image}@${digest}`} />
        </>
      ) : null}
    </div>
  );
}
