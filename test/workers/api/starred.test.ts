import { beforeAll, describe, expect, it } from "vitest";
import { api, expectQuayError, initializeAdmin } from "../helpers/api";
import { makeUser, tokenFor } from "../helpers/accounts";

let olga: string;
let gus: string;

beforeAll(async () => {
  const admin = await initializeAdmin();
  await makeUser(admin, "olga");
  await makeUser(admin, "gus");
  olga = await tokenFor("olga");
  gus = await tokenFor("gus");
  for (const [repository, visibility] of [
    ["open", "public"],
    ["closed", "private"],
    ["nested/app", "public"],
  ] as const) {
    await api("POST", "/repository", {
      token: olga,
      body: { repository, visibility, description: `about ${repository}` },
    });
  }
});

describe("/api/v1/user/starred", () => {
  it("stars a visible repository (201, twice is fine), lists it, marks it is_starred, and unstars it (204)", async () => {
    const star = await api("POST", "/user/starred", { token: gus, body: { namespace: "olga", repository: "open" } });
    expect(star.status).toBe(201);
    expect(star.json).toEqual({ namespace: "olga", repository: "open" });
    expect(
      (await api("POST", "/user/starred", { token: gus, body: { namespace: "olga", repository: "open" } })).status,
    ).toBe(201);
    expect(
      (await api("POST", "/user/starred", { token: gus, body: { namespace: "olga", repository: "nested/app" } }))
        .status,
    ).toBe(201);

    const list = await api("GET", "/user/starred", { token: gus });
    expect(list.status).toBe(200);
    expect(list.json).toEqual({
      repositories: [
        { namespace: "olga", name: "open", description: "about open", is_public: true },
        { namespace: "olga", name: "nested/app", description: "about nested/app", is_public: true },
      ],
    });
    expect((await api("GET", "/repository/olga/open", { token: gus })).json.is_starred).toBe(true);
    expect((await api("GET", "/repository/olga/open", { token: olga })).json.is_starred).toBe(false);
    const starred = await api("GET", "/repository?starred=true", { token: gus });
    expect(starred.json.repositories.map((r: { name: string; is_starred: boolean }) => [r.name, r.is_starred])).toEqual(
      [
        ["open", true],
        ["nested/app", true],
      ],
    );
    const inNamespace = await api("GET", "/repository?namespace=olga", { token: gus });
    expect(inNamespace.json.repositories.find((r: { name: string }) => r.name === "open").is_starred).toBe(true);

    expect((await api("DELETE", "/user/starred/olga/nested/app", { token: gus })).status).toBe(204);
    expect((await api("DELETE", "/user/starred/olga/nested/app", { token: gus })).status).toBe(204);
    expect(
      (await api("GET", "/user/starred", { token: gus })).json.repositories.map((r: { name: string }) => r.name),
    ).toEqual(["open"]);
  });

  it("answers 404 for a repository the user cannot see, or that does not exist", async () => {
    expectQuayError(
      await api("POST", "/user/starred", { token: gus, body: { namespace: "olga", repository: "closed" } }),
      404,
      "not_found",
    );
    expectQuayError(
      await api("POST", "/user/starred", { token: gus, body: { namespace: "olga", repository: "missing" } }),
      404,
      "not_found",
    );
    expectQuayError(await api("DELETE", "/user/starred/olga/closed", { token: gus }), 404, "not_found");
    expectQuayError(await api("DELETE", "/user/starred/olga/missing", { token: gus }), 404, "not_found");
  });

  it("answers 404 for a namespace and repository that cannot form a name (parsed once, never a 500)", async () => {
    // Found by the /api/v1 fuzzer: the pair was joined with "/" and handed on unparsed.
    for (const body of [
      { namespace: "/", repository: "   !B8>(InN)DwqQeI_Y" },
      { namespace: "olga/open", repository: "x" },
      { namespace: "OLGA", repository: "open" },
      { namespace: "olga", repository: "../open" },
      { namespace: "olga", repository: "open/" },
    ])
      expectQuayError(await api("POST", "/user/starred", { token: gus, body }), 404, "not_found");
  });

  it("hides a starred repository once the user loses access to it, and still lets them unstar it", async () => {
    await api("PUT", "/repository/olga/closed/permissions/user/gus", { token: olga, body: { role: "read" } });
    expect(
      (await api("POST", "/user/starred", { token: gus, body: { namespace: "olga", repository: "closed" } })).status,
    ).toBe(201);
    expect(
      (await api("GET", "/user/starred", { token: gus })).json.repositories.map((r: { name: string }) => r.name),
    ).toContain("closed");
    await api("DELETE", "/repository/olga/closed/permissions/user/gus", { token: olga });
    expect(
      (await api("GET", "/user/starred", { token: gus })).json.repositories.map((r: { name: string }) => r.name),
    ).not.toContain("closed");
    expect(
      (await api("GET", "/repository?starred=true", { token: gus })).json.repositories.map(
        (r: { name: string }) => r.name,
      ),
    ).not.toContain("closed");
    expect((await api("DELETE", "/user/starred/olga/closed", { token: gus })).status).toBe(204);
  });

  it("needs a token with user:admin (and repo:read to star), and a namespace and repository", async () => {
    expectQuayError(await api("GET", "/user/starred"), 401, "invalid_token");
    expectQuayError(
      await api("POST", "/user/starred", { body: { namespace: "olga", repository: "open" } }),
      401,
      "invalid_token",
    );
    expectQuayError(await api("DELETE", "/user/starred/olga/open"), 401, "invalid_token");
    const readOnly = await tokenFor("gus", ["repo:read"]);
    expectQuayError(await api("GET", "/user/starred", { token: readOnly }), 403, "insufficient_scope");
    expectQuayError(
      await api("POST", "/user/starred", { token: readOnly, body: { namespace: "olga", repository: "open" } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(await api("DELETE", "/user/starred/olga/open", { token: readOnly }), 403, "insufficient_scope");
    const userOnly = await tokenFor("gus", ["user:admin"]);
    expectQuayError(
      await api("POST", "/user/starred", { token: userOnly, body: { namespace: "olga", repository: "open" } }),
      403,
      "insufficient_scope",
    );
    expectQuayError(
      await api("POST", "/user/starred", { token: gus, body: { namespace: "olga" } }),
      400,
      "invalid_request",
      /repository/,
    );
    expectQuayError(await api("GET", "/user/starred?next_page=nonsense", { token: gus }), 400, "invalid_request");
  });
});
