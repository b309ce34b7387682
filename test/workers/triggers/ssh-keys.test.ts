/**
 * The deploy keys (src/lib/ssh-keys.ts): the public line is RFC 8709's blob, and the private file
 * is OpenSSH's `openssh-key-v1` layout, parsed back field by field here; the secret it holds is the
 * seed of the public key (a signature made from it verifies under the public half). That
 * `ssh-keygen -y` reads the file is checked on the host by test/e2e/ssh-deploy-key.test.ts.
 */
import { describe, expect, it } from "vitest";
import { base64, base64url } from "../../../src/lib/encoding";
import { generateSshKeyPair } from "../../../src/lib/ssh-keys";

/** A reader of SSH's wire encoding. */
function reader(bytes: Uint8Array) {
  let at = 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const take = (n: number) => {
    expect(at + n, "read past the end").toBeLessThanOrEqual(bytes.length);
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  return {
    uint32: () => {
      const v = view.getUint32(at);
      take(4);
      return v;
    },
    string: () => {
      const n = view.getUint32(at);
      take(4);
      return take(n);
    },
    text: function () {
      return new TextDecoder().decode(this.string());
    },
    raw: take,
    get rest() {
      return bytes.length - at;
    },
  };
}

describe("generateSshKeyPair", () => {
  it("writes the public key as `ssh-ed25519 <RFC 8709 blob> <comment>`", async () => {
    const { publicKey } = await generateSshKeyPair("wharf-trigger-x");
    const [type, blob, comment] = publicKey.split(" ");
    expect(type).toBe("ssh-ed25519");
    expect(comment).toBe("wharf-trigger-x");
    const r = reader(base64.decode(blob!)!);
    expect(r.text()).toBe("ssh-ed25519");
    expect(r.string()).toHaveLength(32);
    expect(r.rest).toBe(0);
  });

  it("writes the private key in OpenSSH's format, unencrypted, holding the same key pair", async () => {
    const { publicKey, privateKey } = await generateSshKeyPair("c");
    const lines = privateKey.split("\n");
    expect(lines[0]).toBe("-----BEGIN OPENSSH PRIVATE KEY-----");
    expect(lines.at(-2)).toBe("-----END OPENSSH PRIVATE KEY-----");
    expect(lines.at(-1)).toBe("");
    for (const line of lines.slice(1, -2)) expect(line.length).toBeLessThanOrEqual(70);
    const file = base64.decode(lines.slice(1, -2).join(""))!;
    const r = reader(file);
    expect(new TextDecoder().decode(r.raw(15))).toBe("openssh-key-v1\0");
    expect(r.text()).toBe("none");
    expect(r.text()).toBe("none");
    expect(r.string()).toHaveLength(0);
    expect(r.uint32()).toBe(1);
    const publicBlob = r.string();
    expect(base64.encode(publicBlob)).toBe(publicKey.split(" ")[1]);
    const section = r.string();
    expect(r.rest).toBe(0);
    expect(section.length % 8).toBe(0);
    const p = reader(section);
    expect(p.uint32()).toBe(p.uint32());
    expect(p.text()).toBe("ssh-ed25519");
    const pub = p.string();
    const secret = p.string();
    expect(secret).toHaveLength(64);
    expect(secret.subarray(32)).toEqual(pub);
    expect(p.text()).toBe("c");
    const padding = p.raw(p.rest);
    expect([...padding]).toEqual([...padding].map((_, i) => i + 1));

    // The seed signs; the public half verifies.
    const jwk = { kty: "OKP", crv: "Ed25519", d: base64url.encode(secret.subarray(0, 32)), x: base64url.encode(pub) };
    const signer = await crypto.subtle.importKey("jwk", jwk, { name: "Ed25519" }, false, ["sign"]);
    const verifier = await crypto.subtle.importKey("raw", pub, { name: "Ed25519" }, false, ["verify"]);
    const message = new TextEncoder().encode("git-upload-pack");
    const signature = await crypto.subtle.sign("Ed25519", signer, message);
    expect(await crypto.subtle.verify("Ed25519", verifier, signature, message)).toBe(true);
  });

  it("makes a new pair each time", async () => {
    const [one, two] = await Promise.all([generateSshKeyPair("a"), generateSshKeyPair("a")]);
    expect(one.publicKey).not.toBe(two.publicKey);
  });
});
