/**
 * How to push a first image, with this registry's own host (`location.host`, the host people type
 * into podman and docker), as Quay's empty repository list and empty tags tab explain it.
 */
import { CopyField } from "../../components/CopyField";

export function PushInstructions({ repository }: { repository: string }) {
  const host = location.host;
  const target = `${host}/${repository}:latest`;
  return (
    <div className="push-instructions">
      <CopyField
        label="Push with podman"
        multiline
        value={[`podman login ${host}`, `podman tag <image> ${target}`, `podman push ${target}`].join("\n")}
      />
      <CopyField
        label="Push with docker"
        multiline
        value={[`docker login ${host}`, `docker tag <image> ${target}`, `docker push ${target}`].join("\n")}
      />
    </div>
  );
}
