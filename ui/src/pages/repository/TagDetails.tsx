/**
 * A tag's opened row: pull commands by tag and digest, a manifest list's children (platform,
 * digest, size, read from the list's own manifest as Quay's UI does), the manifest's labels (API
 * labels can be added and removed by writers), its referrers (signatures, SBOMs, attestations:
 * `GET …/manifest/{digest}/referrers`, Wharf's /api/v1 view of the OCI referrers API) and its
 * security status. The three reads start together.
 */
import { useState } from "react";
import { api, repoPath } from "../../api/client";
import { useApi, useMutation } from "../../api/hooks";
import { ErrorBanner, Spinner, useToast } from "../../components/feedback";
import { SelectField, TextField } from "../../components/fields";
import { formatBytes, shortDigest } from "../../components/format";
import { Link } from "../../router";
import { useFeature } from "../../session";
import { securityReportHref } from "./build-types";
import { PullCommands } from "./PullCommands";
import { SecurityStatus } from "./SecurityStatus";
import type { Label, Tag } from "./tag-types";
import type { Repository } from "./types";

interface ManifestView {
  digest: string;
  is_manifest_list: boolean;
  manifest_data: string;
}

interface Child {
  digest: string;
  size: number;
  mediaType?: string;
  platform?: { os?: string; architecture?: string; variant?: string };
}

interface Referrer {
  digest: string;
  mediaType: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

/** What a referrer is, by its artifact type (cosign, notation, SPDX, CycloneDX, in-toto). */
export function referrerKind(artifactType: string | undefined): string {
  const t = (artifactType ?? "").toLowerCase();
  if (/spdx|cyclonedx|sbom|syft/.test(t)) return "SBOM";
  if (/in-toto|attest|provenance|slsa/.test(t)) return "Attestation";
  if (/sig|signature|notary|notation|cosign/.test(t)) return "Signature";
  return "Artifact";
}

function children(manifest: ManifestView | undefined): Child[] {
  if (!manifest?.is_manifest_list) return [];
  try {
    const parsed = JSON.parse(manifest.manifest_data) as { manifests?: Child[] };
    return Array.isArray(parsed.manifests) ? parsed.manifests : [];
  } catch {
    return [];
  }
}

const platformOf = (c: Child) =>
  c.platform ? [c.platform.os, c.platform.architecture, c.platform.variant].filter(Boolean).join("/") : "—";

export function TagDetails({ tag, repo, repository }: { tag: Tag; repo: Repository; repository: string }) {
  const base = `${repoPath(repository)}/manifest/${tag.manifest_digest}`;
  const manifest = useApi<ManifestView>(tag.is_manifest_list ? base : null);
  const labels = useApi<{ labels: Label[] }>(`${base}/labels`);
  const referrers = useApi<{ referrers: Referrer[] }>(`${base}/referrers`);
  const kids = children(manifest.data);
  const scanning = useFeature("SECURITY_SCANNER");

  return (
    <div className="tag-details">
      <section aria-label={`Pull tag ${tag.name}`}>
        <h3>Pull</h3>
        <PullCommands repository={repository} tag={tag.name} digest={tag.manifest_digest} />
      </section>
      <section>
        <h3>Manifest</h3>
        <p>
          <code className="digest">{tag.manifest_digest}</code>
        </p>
        <p>
          Security:{" "}
          {scanning ? (
            <>
              <SecurityStatus repository={repository} digest={tag.manifest_digest} />{" "}
              <Link to={securityReportHref(repository, tag.manifest_digest)}>Security report</Link>
            </>
          ) : (
            <small className="hint">Vulnerability scanning is not turned on for this registry.</small>
          )}
        </p>
        {tag.is_manifest_list ? (
          <>
            <h4>Images in this list</h4>
            <ErrorBanner error={manifest.error} />
            {manifest.loading && !manifest.data ? <Spinner label="Loading the list" /> : null}
            {kids.length ? (
              <div className="table-wrap">
                <table className="data">
                  <thead>
                    <tr>
                      <th scope="col">Platform</th>
                      <th scope="col">Digest</th>
                      <th scope="col">Size</th>
                    </tr>
                  </thead>
                  <tbody>
                    {kids.map((c) => (
                      <tr key={c.digest}>
                        <td>{platformOf(c)}</td>
                        <td>
                          <code title={c.digest}>{shortDigest(c.digest)}</code>
                        </td>
                        <td>{formatBytes(c.size)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            ) : null}
          </>
        ) : null}
      </section>
      <LabelsSection base={base} labels={labels} canWrite={Boolean(repo.can_write)} />
      <section>
        <h3>Referrers</h3>
        <ErrorBanner error={referrers.error} />
        {referrers.data && referrers.data.referrers.length === 0 ? (
          <p className="hint">No signature, SBOM or attestation refers to this manifest.</p>
        ) : null}
        {referrers.data?.referrers.length ? (
          <ul className="referrers">
            {referrers.data.referrers.map((r) => (
              <li key={r.digest}>
                <span className="badge">{referrerKind(r.artifactType)}</span>{" "}
                <code title={r.digest}>{shortDigest(r.digest)}</code>{" "}
                <small className="hint">
                  {r.artifactType ?? r.mediaType}, {formatBytes(r.size)}
                </small>
              </li>
            ))}
          </ul>
        ) : null}
      </section>
    </div>
  );
}

const MEDIA_TYPES = [
  { value: "text/plain", label: "Text" },
  { value: "application/json", label: "JSON" },
];

function LabelsSection({
  base,
  labels,
  canWrite,
}: {
  base: string;
  labels: ReturnType<typeof useApi<{ labels: Label[] }>>;
  canWrite: boolean;
}) {
  const toast = useToast();
  const [key, setKey] = useState("");
  const [value, setValue] = useState("");
  const [mediaType, setMediaType] = useState("text/plain");
  const add = useMutation(() => api("POST", `${base}/labels`, { body: { key, value, media_type: mediaType } }));
  const remove = useMutation((id: string) => api("DELETE", `${base}/labels/${encodeURIComponent(id)}`));

  const submit = async (event: React.FormEvent) => {
    event.preventDefault();
    if ((await add.run()) === undefined) return;
    toast(`Label ${key} added`);
    setKey("");
    setValue("");
    labels.reload();
  };
  const drop = async (label: Label) => {
    if ((await remove.run(label.id)) === undefined) return;
    toast(`Label ${label.key} removed`);
    labels.reload();
  };

  return (
    <section>
      <h3>Labels</h3>
      <ErrorBanner error={labels.error ?? remove.error} />
      {labels.data && labels.data.labels.length === 0 ? <p className="hint">No labels.</p> : null}
      {labels.data?.labels.length ? (
        <ul className="labels">
          {labels.data.labels.map((l) => (
            <li key={l.id} className="label-chip">
              <code>
                {l.key}={l.value}
              </code>
              {canWrite && l.source_type === "api" ? (
                <button
                  type="button"
                  className="btn-plain"
                  aria-label={`Remove label ${l.key}`}
                  onClick={() => drop(l)}
                >
                  ×
                </button>
              ) : null}
            </li>
          ))}
        </ul>
      ) : null}
      {canWrite ? (
        <form className="toolbar label-form" onSubmit={submit}>
          <TextField label="Label key" value={key} required onChange={(e) => setKey(e.target.value)} />
          <TextField label="Label value" value={value} onChange={(e) => setValue(e.target.value)} />
          <SelectField
            label="Label type"
            options={MEDIA_TYPES}
            value={mediaType}
            onChange={(e) => setMediaType(e.target.value)}
          />
          <button type="submit" className="btn" disabled={add.busy || !key.trim()}>
            Add label
          </button>
          <ErrorBanner error={add.error} />
        </form>
      ) : null}
    </section>
  );
}
