import { describe, expect, it } from "vitest";
import { errorCode, request } from "../helpers/registry";

describe("GET /v2/", () => {
  it("answers 200 with the API version header", async () => {
    const res = await request("GET", "/v2/");
    expect(res.status).toBe(200);
    expect(res.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
  });

  it("answers an unknown /v2 endpoint with a 404 in the OCI envelope", async () => {
    const res = await request("GET", "/v2/foo/nonsense");
    expect(res.status).toBe(404);
    expect(res.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
    expect(await errorCode(res)).toBe("UNSUPPORTED");
  });
});
