/**
 * SigV4 query-string presigning (src/storage/presign.ts) against AWS's published example: "Authenticating
 * Requests: Using Query Parameters (AWS Signature Version 4)" in the S3 API reference, a GET of
 * examplebucket/test.txt on 24 May 2013 for 86,400 s with the documentation's example key pair.
 * Its canonical request, the hash in its string to sign and its signature are the page's own.
 */
import { describe, expect, it } from "vitest";
import { amzDate, canonicalGet, objectPath, presignGet, uriEncode } from "../../../src/storage/presign";

const AWS_EXAMPLE = {
  endpoint: "https://examplebucket.s3.amazonaws.com",
  path: ["test.txt"],
  region: "us-east-1",
  credentials: { accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY" },
  expiresSeconds: 86_400,
  nowMs: Date.UTC(2013, 4, 24, 0, 0, 0),
};

describe("SigV4 presigned GET", () => {
  it("reproduces AWS's example: canonical request, string to sign and signature", async () => {
    const { canonicalRequest, stringToSign } = await canonicalGet(AWS_EXAMPLE);
    expect(canonicalRequest).toBe(
      [
        "GET",
        "/test.txt",
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host",
        "host:examplebucket.s3.amazonaws.com",
        "",
        "host",
        "UNSIGNED-PAYLOAD",
      ].join("\n"),
    );
    expect(stringToSign).toBe(
      [
        "AWS4-HMAC-SHA256",
        "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request",
        "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04",
      ].join("\n"),
    );
    expect(await presignGet(AWS_EXAMPLE)).toBe(
      "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404",
    );
  });

  it("any other input signs differently: key, secret, time, expiry, object", async () => {
    const signature = async (changes: Partial<typeof AWS_EXAMPLE>) =>
      new URL(await presignGet({ ...AWS_EXAMPLE, ...changes })).searchParams.get("X-Amz-Signature");
    const base = await signature({});
    const others = await Promise.all([
      signature({ credentials: { ...AWS_EXAMPLE.credentials, secretAccessKey: "another" } }),
      signature({ nowMs: AWS_EXAMPLE.nowMs + 1000 }),
      signature({ expiresSeconds: 86_401 }),
      signature({ path: ["test.txu"] }),
      signature({ endpoint: "https://examplebucket.s3.amazonaws.com:8443" }),
    ]);
    for (const other of others) expect(other).not.toBe(base);
    // The signing key kept for a day is the right one after another secret, region or day was used.
    expect(await signature({ nowMs: AWS_EXAMPLE.nowMs + 86_400_000 })).not.toBe(base);
    expect(await signature({ region: "auto" })).not.toBe(base);
    expect(await signature({})).toBe(base);
  });

  it("R2 path style: bucket then key segments, each UriEncoded; the host keeps a non-default port", async () => {
    const url = await presignGet({
      ...AWS_EXAMPLE,
      endpoint: "http://127.0.0.1:9000/",
      region: "auto",
      path: objectPath("wharf-blobs", "uploads/a b+c!(x)*'~"),
    });
    expect(url.startsWith("http://127.0.0.1:9000/wharf-blobs/uploads/a%20b%2Bc%21%28x%29%2A%27~?")).toBe(true);
    const { canonicalRequest } = await canonicalGet({ ...AWS_EXAMPLE, endpoint: "http://127.0.0.1:9000" });
    expect(canonicalRequest.split("\n")[3]).toBe("host:127.0.0.1:9000");
    expect(new URL(url).searchParams.get("X-Amz-Credential")).toBe(
      "AKIAIOSFODNN7EXAMPLE/20130524/auto/s3/aws4_request",
    );
  });

  it("encodes as SigV4's UriEncode and dates as its timestamp", () => {
    expect(uriEncode("A-Z_a.z~0/9 é")).toBe("A-Z_a.z~0%2F9%20%C3%A9");
    expect(amzDate(Date.UTC(2026, 11, 7, 8, 9, 10, 999))).toBe("20261207T080910Z");
  });
});
