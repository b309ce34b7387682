/**
 * A trigger's setup (Quay's trigger wizard, as one form): the source repository, which branches and
 * tags build (Quay's `branchtag_regex`), how images are tagged (`default_tag_from_ref`,
 * `latest_for_default_branch`, `tag_templates` such as `${commit_info.short_sha}`), the Dockerfile
 * and context, and an optional pull robot; `POST …/trigger/{uuid}/activate` `{config, pull_robot?}`.
 */
import { useState } from "react";
import { api } from "../../api/client";
import { useMutation } from "../../api/hooks";
import { type Entity, EntityPicker } from "../../components/EntityPicker";
import { ErrorBanner } from "../../components/feedback";
import { CheckboxField, TextField } from "../../components/fields";
import { FormDialog } from "../superuser/FormDialog";
import { serviceLabel, type Trigger, type TriggerConfig } from "./build-types";

/** Templates as typed, one per comma or line. */
export const parseTemplates = (text: string) =>
  text
    .split(/[\n,]+/)
    .map((t) => t.trim())
    .filter(Boolean);

/** The regex must compile in the browser too: a typo is caught before the API sees it. */
function regexProblem(text: string): string | null {
  if (!text) return null;
  try {
    new RegExp(text);
    return null;
  } catch (err) {
    return `The branch/tag regex does not compile: ${(err as Error).message}`;
  }
}

export function TriggerSetupDialog({
  base,
  trigger,
  namespace,
  onClose,
  onActivated,
}: {
  /** `…/trigger/{uuid}` */
  base: string;
  trigger: Trigger;
  namespace: string;
  onClose: () => void;
  onActivated: (trigger: Trigger) => void;
}) {
  const current = trigger.config ?? {};
  const github = trigger.service === "github";
  const [source, setSource] = useState(current.build_source ?? trigger.build_source ?? "");
  const [regex, setRegex] = useState(current.branchtag_regex ?? "");
  const [fromRef, setFromRef] = useState(current.default_tag_from_ref ?? true);
  const [latest, setLatest] = useState(current.latest_for_default_branch ?? true);
  const [templates, setTemplates] = useState((current.tag_templates ?? []).join(", "));
  const [dockerfile, setDockerfile] = useState(current.dockerfile_path ?? "/Dockerfile");
  const [context, setContext] = useState(current.context ?? "/");
  const [robot, setRobot] = useState<Entity | null>(null);
  const [problem, setProblem] = useState<string | null>(null);

  const activate = useMutation(() => {
    const config: TriggerConfig = {
      build_source: source.trim(),
      dockerfile_path: dockerfile.trim() || "/Dockerfile",
      context: context.trim() || "/",
      default_tag_from_ref: fromRef,
      latest_for_default_branch: latest,
      tag_templates: parseTemplates(templates),
    };
    if (regex.trim()) config.branchtag_regex = regex.trim();
    const body: Record<string, unknown> = { config };
    if (robot) body.pull_robot = robot.name;
    return api<Trigger>("POST", `${base}/activate`, { body });
  });

  const submit = async () => {
    const bad = regexProblem(regex.trim());
    setProblem(bad);
    if (bad) return;
    const done = await activate.run();
    if (done) onActivated(done);
  };

  return (
    <FormDialog
      title={`Set up ${serviceLabel(trigger.service)} trigger`}
      submitLabel="Activate Trigger"
      busy={activate.busy}
      onSubmit={submit}
      onClose={onClose}
    >
      <TextField
        label={github ? "GitHub repository" : "Git repository URL"}
        value={source}
        required
        placeholder={github ? "owner/name" : "git@git.example.com:team/app.git"}
        hint={
          github ? "The repository as owner/name." : "The URL the builder clones (SSH with the deploy key, or https)."
        }
        onChange={(e) => setSource(e.target.value)}
      />
      <TextField
        label="Branch/tag regex (optional)"
        value={regex}
        placeholder="heads/main|tags/v.*"
        hint="Only refs matching it build, e.g. heads/main for the main branch; empty builds every branch and tag."
        onChange={(e) => setRegex(e.target.value)}
      />
      <fieldset className="choice">
        <legend>Tagging</legend>
        <CheckboxField
          label="Tag with the branch or tag name"
          checked={fromRef}
          onChange={(e) => setFromRef(e.target.checked)}
        />
        <CheckboxField
          label="Tag latest when the default branch builds"
          checked={latest}
          onChange={(e) => setLatest(e.target.checked)}
        />
        <TextField
          label="Tag templates (optional)"
          value={templates}
          placeholder="${commit_info.short_sha}, v-${parsed_ref.branch}"
          hint="More tags, separated by commas: ${commit}, ${commit_info.short_sha}, ${parsed_ref.branch}, ${parsed_ref.tag}."
          onChange={(e) => setTemplates(e.target.value)}
        />
      </fieldset>
      <TextField
        label="Dockerfile path"
        value={dockerfile}
        hint="The Dockerfile within the repository."
        onChange={(e) => setDockerfile(e.target.value)}
      />
      <TextField
        label="Context"
        value={context}
        hint="The directory the build runs in."
        onChange={(e) => setContext(e.target.value)}
      />
      <EntityPicker
        label="Pull robot (optional)"
        namespace={namespace}
        kinds={["robot"]}
        value={robot}
        onPick={setRobot}
        hint="A robot whose credentials pull private base images."
      />
      {problem ? (
        <div className="banner banner-error" role="alert">
          {problem}
        </div>
      ) : null}
      <ErrorBanner error={activate.error} />
    </FormDialog>
  );
}
