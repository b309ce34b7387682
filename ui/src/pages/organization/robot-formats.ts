/**
 * A robot's credentials in the formats Quay's credential dialog offers: the token, a podman and a
 * docker login command, a Kubernetes pull secret and a Docker `config.json`. `host` is the
 * registry's host as clients name it (the page's own `location.host`: the UI and the registry
 * share one origin).
 */

/** base64 of a string's UTF-8 bytes (robot names and tokens are ASCII, but be exact anyway). */
export function base64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The Docker `config.json` that logs a client in as the robot. */
export function dockerConfig(host: string, name: string, token: string): string {
  return JSON.stringify({ auths: { [host]: { auth: base64(`${name}:${token}`), email: "" } } }, null, 2);
}

/** A Kubernetes object name (RFC 1123 label): lower case, `+`, `_` and `.` turned into `-`. */
export function secretName(name: string): string {
  const cleaned = name
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  return `${cleaned}-pull-secret`.slice(0, 253);
}

/** Quay's "Kubernetes Secret": a `kubernetes.io/dockerconfigjson` Secret holding the config above. */
export function kubernetesSecret(host: string, name: string, token: string): string {
  const config = JSON.stringify({ auths: { [host]: { auth: base64(`${name}:${token}`), email: "" } } });
  return [
    "apiVersion: v1",
    "kind: Secret",
    "metadata:",
    `  name: ${secretName(name)}`,
    "data:",
    `  .dockerconfigjson: ${base64(config)}`,
    "type: kubernetes.io/dockerconfigjson",
  ].join("\n");
}

/** `podman login` / `docker login` with the robot's name and token (Quay's quoting). */
export function loginCommand(client: "podman" | "docker", host: string, name: string, token: string): string {
  return `${client} login -u="${name}" -p="${token}" ${host}`;
}

export interface CredentialFormat {
  id: string;
  label: string;
  value: string;
  multiline?: boolean;
  /** A file name to download the value as. */
  file?: string;
}

export function credentialFormats(host: string, name: string, token: string): CredentialFormat[] {
  return [
    { id: "name", label: "Username", value: name },
    { id: "token", label: "Robot token", value: token },
    { id: "podman", label: "Podman login", value: loginCommand("podman", host, name, token) },
    { id: "docker", label: "Docker login", value: loginCommand("docker", host, name, token) },
    {
      id: "kubernetes",
      label: "Kubernetes pull secret",
      value: kubernetesSecret(host, name, token),
      multiline: true,
      file: `${secretName(name)}.yml`,
    },
    {
      id: "dockerconfig",
      label: "Docker configuration (config.json)",
      value: dockerConfig(host, name, token),
      multiline: true,
      file: "config.json",
    },
  ];
}
