/**
 * SSH deploy keys for build triggers (Quay's `util/security/ssh.py` generate_ssh_keypair): an
 * Ed25519 pair made with WebCrypto, the public half in OpenSSH's one-line form (`ssh-ed25519 AAAA…
 * comment`, RFC 8709 §4 key blob in base64) and the private half in OpenSSH's own private-key file
 * format (`-----BEGIN OPENSSH PRIVATE KEY-----`, PROTOCOL.key in OpenSSH's sources), unencrypted,
 * which is what `ssh` and git read as an identity file. Quay makes RSA keys in PEM; Ed25519 is
 * shorter, accepted by every current git host, and the only kind workerd makes without a library.
 */
import { base64, base64url } from "./encoding";

const KEY_TYPE = "ssh-ed25519";
const MAGIC = "openssh-key-v1\0";
const utf8 = new TextEncoder();

export interface SshKeyPair {
  /** `ssh-ed25519 AAAA… <comment>`: what a git server's authorized keys or deploy keys take. */
  publicKey: string;
  /** The OpenSSH private key file, PEM-armoured, ending with a newline. */
  privateKey: string;
}

/** SSH's wire encoding (RFC 4251 §5): uint32 big-endian, and strings as length + bytes. */
class Writer {
  private parts: Uint8Array[] = [];

  uint32(value: number): this {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, value);
    this.parts.push(bytes);
    return this;
  }

  string(value: Uint8Array | string): this {
    const bytes = typeof value === "string" ? utf8.encode(value) : value;
    this.uint32(bytes.length);
    this.parts.push(bytes);
    return this;
  }

  raw(bytes: Uint8Array | string): this {
    this.parts.push(typeof bytes === "string" ? utf8.encode(bytes) : bytes);
    return this;
  }

  get length(): number {
    return this.parts.reduce((sum, part) => sum + part.length, 0);
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let at = 0;
    for (const part of this.parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }
}

/** RFC 8709 §4: the public key blob, `string "ssh-ed25519"`, `string key`. */
function publicBlob(publicKey: Uint8Array): Uint8Array {
  return new Writer().string(KEY_TYPE).string(publicKey).bytes();
}

/** The one-line public key of the 32-byte Ed25519 key `publicKey`. */
export function openSshPublicKey(publicKey: Uint8Array, comment: string): string {
  return `${KEY_TYPE} ${base64.encode(publicBlob(publicKey))} ${comment}`;
}

/**
 * OpenSSH's private key file for the pair (`seed`, `publicKey`): the magic, cipher and KDF
 * `none`, one public key, and the private section (two equal check integers, the key type, the
 * public key, the 64-byte secret `seed ‖ public`, the comment) padded with 1, 2, 3… to the
 * cipher's block size (8 for `none`).
 */
export function openSshPrivateKey(seed: Uint8Array, publicKey: Uint8Array, comment: string): string {
  const check = new DataView(crypto.getRandomValues(new Uint8Array(4)).buffer).getUint32(0);
  const secret = new Uint8Array(64);
  secret.set(seed);
  secret.set(publicKey, 32);
  const section = new Writer()
    .uint32(check)
    .uint32(check)
    .string(KEY_TYPE)
    .string(publicKey)
    .string(secret)
    .string(comment);
  for (let pad = 1; section.length % 8 !== 0; pad++) section.raw(new Uint8Array([pad]));
  const file = new Writer()
    .raw(MAGIC)
    .string("none")
    .string("none")
    .string("")
    .uint32(1)
    .string(publicBlob(publicKey))
    .string(section.bytes())
    .bytes();
  const body = base64.encode(file).replace(/.{1,70}/g, "$&\n");
  return `-----BEGIN OPENSSH PRIVATE KEY-----\n${body}-----END OPENSSH PRIVATE KEY-----\n`;
}

/** A new Ed25519 key pair, both halves in OpenSSH's forms, with `comment` on each. */
export async function generateSshKeyPair(comment: string): Promise<SshKeyPair> {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  if (!("privateKey" in pair)) throw new Error("Ed25519 key generation gave no key pair");
  const jwk = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as { d?: string; x?: string };
  const seed = jwk.d ? base64url.decode(jwk.d) : null;
  const publicKey = jwk.x ? base64url.decode(jwk.x) : null;
  if (seed?.length !== 32 || publicKey?.length !== 32) throw new Error("Ed25519 key export gave no 32-byte key");
  return {
    publicKey: openSshPublicKey(publicKey, comment),
    privateKey: openSshPrivateKey(seed, publicKey, comment),
  };
}
