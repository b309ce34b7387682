/**
 * "Start New Build" (Quay's): a Dockerfile or a build context archive uploaded through Quay's
 * filedrop (`POST /api/v1/filedrop/` `{mimeType}` answers an upload `url` and a `file_id`; the File
 * is PUT there as it is, streamed by the browser, never read into memory), or the URL of an archive;
 * then `POST …/build/` `{file_id | archive_url, docker_tags, pull_robot?}` and the build's page.
 */
import { useId, useState } from "react";
import { ApiFailure, api, csrfHeaders, messageOf, repoPath } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { type Entity, EntityPicker } from "../../components/EntityPicker";
import { ErrorBanner, Progress } from "../../components/feedback";
import { TextField } from "../../components/fields";
import { Modal } from "../../components/Modal";
import { navigate } from "../../router";
import { type Build, buildHref } from "./build-types";

/** The MIME type a build's source is declared with (a Dockerfile alone is text). */
export function sourceMimeType(file: File): string {
  const name = file.name.toLowerCase();
  if (name.endsWith(".tar.gz") || name.endsWith(".tgz")) return "application/gzip";
  if (name.endsWith(".tar")) return "application/x-tar";
  if (name.endsWith(".zip")) return "application/zip";
  return file.type || "text/plain";
}

/** Tags as typed ("latest, v1 v2"): unique, in order; `latest` when none, as Quay defaults. */
export function parseTags(text: string): string[] {
  const tags = [...new Set(text.split(/[\s,]+/).filter(Boolean))];
  return tags.length ? tags : ["latest"];
}

async function upload(file: File): Promise<string> {
  const drop = await api<{ url: string; file_id: string }>("POST", "/filedrop/", {
    body: { mimeType: sourceMimeType(file) },
  });
  const res = await fetch(drop.url, {
    method: "PUT",
    body: file,
    credentials: "same-origin",
    headers: { "Content-Type": sourceMimeType(file), ...(await csrfHeaders()) },
  }).catch(() => null);
  if (!res) throw new ApiFailure(0, messageOf(0, null));
  if (!res.ok) {
    const text = await res.text();
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // A plain text answer is its own message.
    }
    throw new ApiFailure(res.status, messageOf(res.status, body), body);
  }
  return drop.file_id;
}

export function StartBuildDialog({
  repository,
  namespace,
  onClose,
}: {
  repository: string;
  namespace: string;
  onClose: () => void;
}) {
  const formId = useId();
  const [source, setSource] = useState<"upload" | "url">("upload");
  const [file, setFile] = useState<File | null>(null);
  const [archiveUrl, setArchiveUrl] = useState("");
  const [tags, setTags] = useState("latest");
  const [robot, setRobot] = useState<Entity | null>(null);
  const [stage, setStage] = useState("");
  const start = useMutation(async () => {
    const body: Record<string, unknown> = { docker_tags: parseTags(tags) };
    if (robot) body.pull_robot = robot.name;
    if (source === "upload") {
      if (!file) throw new ApiFailure(0, "Choose a Dockerfile or an archive to build.");
      setStage("Uploading");
      body.file_id = await upload(file);
    } else {
      body.archive_url = archiveUrl.trim();
    }
    setStage("Starting the build");
    return api<Build>("POST", `${repoPath(repository)}/build/`, { body });
  });

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    const build = await start.run();
    setStage("");
    if (build?.id) navigate(buildHref(repository, build.id));
  };
  const ready = source === "upload" ? file !== null : /^https?:\/\//i.test(archiveUrl.trim());

  return (
    <Modal
      title="Start New Build"
      open
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" form={formId} className="btn btn-primary" disabled={start.busy || !ready}>
            Start Build
          </button>
        </>
      }
    >
      <form id={formId} onSubmit={submit} className="start-build">
        <fieldset className="choice">
          <legend>Build from</legend>
          <label>
            <input
              type="radio"
              name="build-source"
              checked={source === "upload"}
              onChange={() => setSource("upload")}
            />
            Upload a Dockerfile or an archive (.tar, .tar.gz, .zip)
          </label>
          <label>
            <input type="radio" name="build-source" checked={source === "url"} onChange={() => setSource("url")} />
            The URL of an archive
          </label>
        </fieldset>
        {source === "upload" ? (
          <TextField label="Dockerfile or archive" type="file" onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
        ) : (
          <TextField
            label="Archive URL"
            type="url"
            value={archiveUrl}
            placeholder="https://example.com/context.tar.gz"
            hint="A .tar.gz or .zip the builder downloads; it must start with http:// or https://."
            onChange={(e) => setArchiveUrl(e.target.value)}
          />
        )}
        <TextField
          label="Tags"
          value={tags}
          hint="The tags the image is pushed as, separated by spaces or commas."
          onChange={(e) => setTags(e.target.value)}
        />
        <EntityPicker
          label="Pull robot (optional)"
          namespace={namespace}
          kinds={["robot"]}
          value={robot}
          onPick={setRobot}
          hint="A robot whose credentials pull private base images."
        />
        {start.busy && stage ? <Progress label={`${stage}…`} /> : null}
        <ErrorBanner error={start.error} />
      </form>
    </Modal>
  );
}
