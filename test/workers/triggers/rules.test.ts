/**
 * A trigger config's rules (src/builds/trigger-rules.ts), against Quay's basehandler.py and
 * triggerutil.py: `escape_tag` (Quay's own test cases), `matches_ref` (the regex must match the
 * ref after `refs/` whole), the skip markers, and `_determine_tags`.
 */
import { describe, expect, it } from "vitest";
import { checkedConfig, determineTags, escapeTag, refMatches, skipReason } from "../../../src/builds/trigger-rules";
import { expr } from "./helpers";

const metadata = (ref?: string, extra: Record<string, unknown> = {}) => ({
  commit: "5de1e98d0123456789abcdef0123456789abcdef",
  ...(ref ? { ref } : {}),
  default_branch: "main",
  git_url: "git@x:y.git",
  ...extra,
});

describe("escapeTag (Quay's escape_tag)", () => {
  it.each([
    ["latest", "latest"],
    ["latest124", "latest124"],
    ["5de1e98d", "5de1e98d"],
    ["detailed_view#61", "detailed_view_61"],
    ["-detailed_view#61", "_detailed_view_61"],
    [".hidden", "_hidden"],
    ["feature/ünïcode", "feature__n_code"],
    ["", "latest"],
  ])("%s → %s", (tag, escaped) => {
    expect(escapeTag(tag)).toBe(escaped);
  });

  it("keeps 127 characters at most", () => {
    expect(escapeTag("a".repeat(300))).toHaveLength(127);
  });
});

describe("refMatches (Quay's matches_ref)", () => {
  it("matches the ref after `refs/` as a whole", () => {
    expect(refMatches("heads/main", "refs/heads/main")).toBe(true);
    expect(refMatches("heads/main", "refs/heads/main2")).toBe(false);
    expect(refMatches("main", "refs/heads/main")).toBe(false);
    expect(refMatches("heads/.+", "refs/heads/feature/x")).toBe(true);
    expect(refMatches("tags/v[0-9]+|heads/main", "refs/tags/v12")).toBe(true);
    expect(refMatches("tags/v[0-9]+|heads/main", "refs/tags/v12rc")).toBe(false);
    expect(refMatches("tags/v[0-9]+|heads/main", "refs/heads/main")).toBe(true);
  });
});

describe("skipReason (Quay's raise_if_skipped_build)", () => {
  it("skips the markers anywhere in the message and refs the regex refuses; not [ci skip]", () => {
    const at = (message: string) => metadata("refs/heads/main", { commit_info: { message } });
    expect(skipReason({}, at("fix [skip build] typo"))).toBe("skip");
    expect(skipReason({}, at("[build skip]"))).toBe("skip");
    expect(skipReason({}, at("[ci skip]"))).toBeNull();
    expect(skipReason({ branchtag_regex: "tags/.+" }, at("x"))).toBe("ref");
    expect(skipReason({ branchtag_regex: "tags/.+" }, metadata())).toBe("ref");
    expect(skipReason({ branchtag_regex: "heads/main" }, at("x"))).toBeNull();
  });
});

describe("determineTags (Quay's _determine_tags)", () => {
  it("names the branch and latest on the default branch, by default", () => {
    expect(determineTags({}, metadata("refs/heads/main"))).toEqual(["main", "latest"]);
    expect(determineTags({}, metadata("refs/heads/dev"))).toEqual(["dev"]);
    expect(determineTags({}, metadata("refs/tags/v1.0"))).toEqual(["v1.0"]);
  });

  it("falls back to the short sha when nothing else names the build (a manual custom git run)", () => {
    expect(determineTags({}, metadata())).toEqual(["5de1e98"]);
    expect(
      determineTags({ default_tag_from_ref: false, latest_for_default_branch: false }, metadata("refs/heads/main")),
    ).toEqual(["5de1e98"]);
  });

  it("drops a template whose value the push does not carry, and repeats", () => {
    const config = { tag_templates: [expr("parsed_ref.tag"), expr("commit_info.author"), "main"] };
    expect(determineTags(config, metadata("refs/heads/main"))).toEqual(["main", "latest"]);
  });
});

describe("checkedConfig", () => {
  it("fills in Quay's defaults", () => {
    expect(checkedConfig("custom-git", { build_source: "https://git.example.com/a.git" })).toEqual({
      build_source: "https://git.example.com/a.git",
      dockerfile_path: "/Dockerfile",
      context: "/",
      default_tag_from_ref: true,
      latest_for_default_branch: true,
      tag_templates: [],
    });
    expect(
      checkedConfig("custom-git", {
        build_source: "ssh://git@h:2222/a.git",
        dockerfile_path: "sub/Dockerfile",
        context: "sub/",
      }),
    ).toMatchObject({
      dockerfile_path: "/sub/Dockerfile",
      context: "/sub",
    });
  });

  it("refuses sources a clone could take for options or that are not git URLs", () => {
    for (const source of ["-oProxyCommand=x", "file:///etc", "git@h:-x", "/local/path", "a b"])
      expect(() => checkedConfig("custom-git", { build_source: source }), source).toThrow(/not a git URL/);
    // ssh takes a host or user that starts with `-` for an option (CVE-2017-1000117's ProxyCommand).
    for (const source of [
      "ssh://-oProxyCommand=touch%20x/a.git",
      "ssh://-oProxyCommand=x@h/a.git",
      "-oProxyCommand=x@h:a.git",
      "git@-oProxyCommand=x:a.git",
      "git@-ohost:a.git",
      "https://h/a\u0001.git",
      "ext::sh -c touch% /tmp/x",
    ])
      expect(() => checkedConfig("custom-git", { build_source: source }), source).toThrow(/not a git URL/);
    // A password may start with '-': it is no argument of its own.
    for (const source of ["https://u:-p@h/a.git", "ssh://git@[::1]:22/a.git", "ssh://git@h:2222/a.git"])
      expect(checkedConfig("custom-git", { build_source: source }).build_source).toBe(source);
    expect(() => checkedConfig("custom-git", { build_source: "ssh://git@h:-p/a.git" })).toThrow(/not a git URL/);
    expect(() => checkedConfig("github", { build_source: "git@github.com:a/b.git" })).toThrow(/owner\/name/);
    expect(checkedConfig("github", { build_source: "olga/app" }).build_source).toBe("olga/app");
  });
});
