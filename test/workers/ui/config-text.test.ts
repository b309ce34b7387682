/**
 * The superuser's "Check a configuration" box turns pasted text into the object
 * `POST /api/v1/superuser/config/validate` takes (ui/src/pages/superuser/config-text.ts): JSON,
 * YAML's `KEY: value` lines or [vars]' `KEY = value` lines, and a line it cannot read is named,
 * never guessed at.
 */
import { describe, expect, it } from "vitest";
import { parseConfigText } from "../../../ui/src/pages/superuser/config-text";

describe("parseConfigText", () => {
  it("reads a JSON object as it is", () => {
    expect(parseConfigText('{"FEATURE_BUILD_SUPPORT": true, "OIDC_PROVIDERS": []}')).toEqual({
      config: { FEATURE_BUILD_SUPPORT: true, OIDC_PROVIDERS: [] },
    });
  });

  it("reads YAML-ish and [vars] lines: scalars, quotes, lists, comments, a table header", () => {
    const text = [
      "[vars]",
      "# the registry's host",
      'SERVER_HOSTNAME = "registry.example.com" # comment',
      "FEATURE_BUILD_SUPPORT: false",
      "MAX_REQUEST_BODY: 104857600",
      "TAG_EXPIRATION_OPTIONS: [1d, '2w']",
      "ACTION_LOG_SINK_URL: ~",
      "REGISTRY_TITLE: 'Wharf # one'",
    ].join("\n");
    expect(parseConfigText(text)).toEqual({
      config: {
        SERVER_HOSTNAME: "registry.example.com",
        FEATURE_BUILD_SUPPORT: false,
        MAX_REQUEST_BODY: 104857600,
        TAG_EXPIRATION_OPTIONS: ["1d", "2w"],
        ACTION_LOG_SINK_URL: null,
        REGISTRY_TITLE: "Wharf # one",
      },
    });
  });

  it("names what it cannot read", () => {
    expect(parseConfigText("")).toEqual({ error: "Paste a configuration first." });
    expect(parseConfigText("[1, 2]")).toMatchObject({ error: expect.stringContaining("Line 1") });
    expect(parseConfigText('{"A": ')).toMatchObject({ error: expect.stringContaining("not valid JSON") });
    expect(parseConfigText("A: 1\njust words")).toEqual({
      error: "Line 2 is not KEY: value or KEY = value: just words",
    });
  });
});
