/** The fields of an OAuth application (Quay's NewApp/UpdateApp), for creating and for editing one. */
import { useState } from "react";
import { TextField } from "../../components/fields";

export interface ApplicationFields {
  name: string;
  application_uri: string;
  redirect_uri: string;
  avatar_email: string;
  description: string;
}

const EMPTY: ApplicationFields = { name: "", application_uri: "", redirect_uri: "", avatar_email: "", description: "" };

export default function ApplicationForm({
  initial,
  submitLabel,
  busy,
  onSubmit,
}: {
  initial?: Partial<ApplicationFields>;
  submitLabel: string;
  busy: boolean;
  onSubmit: (fields: ApplicationFields) => void;
}) {
  const [fields, setFields] = useState<ApplicationFields>({ ...EMPTY, ...initial });
  const set = (name: keyof ApplicationFields) => (event: { target: { value: string } }) =>
    setFields((f) => ({ ...f, [name]: event.target.value }));
  return (
    <form
      className="form-grid"
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit({ ...fields, name: fields.name.trim() });
      }}
    >
      <TextField label="Application name" required maxLength={255} value={fields.name} onChange={set("name")} />
      <TextField
        label="Homepage URL"
        type="url"
        maxLength={255}
        placeholder="https://example.com"
        value={fields.application_uri}
        onChange={set("application_uri")}
      />
      <TextField
        label="Redirect/Callback URL prefix"
        hint="Where tokens may be sent: this URL or a path below it."
        type="url"
        maxLength={255}
        placeholder="https://example.com/oauth/callback"
        value={fields.redirect_uri}
        onChange={set("redirect_uri")}
      />
      <TextField
        label="Avatar email"
        type="email"
        maxLength={255}
        hint="The application's avatar is this address's."
        value={fields.avatar_email}
        onChange={set("avatar_email")}
      />
      <TextField label="Description" maxLength={4096} value={fields.description} onChange={set("description")} />
      <div>
        <button type="submit" className="btn btn-primary" disabled={busy || !fields.name.trim()}>
          {submitLabel}
        </button>
      </div>
    </form>
  );
}
