/**
 * The outbound-request guard's rule (src/lib/outbound-addresses.ts): which hosts are not public,
 * every range and spelling the WHATWG URL parser can produce, and what ALLOW_PRIVATE_OUTBOUND
 * allows (`true`, host:port entries, CIDRs). Issue #12, item 3.
 */
import { describe, expect, it } from "vitest";
import {
  NO_PRIVATE_OUTBOUND,
  parseOutboundAllowance,
  resolvedRefusal,
  urlRefusal,
} from "../../src/lib/outbound-addresses";

const refusal = (url: string, allow = "") => urlRefusal(new URL(url), parseOutboundAllowance(allow));

describe("addresses and names that are not public", () => {
  // [host as written in a URL, what the refusal names]
  const NOT_PUBLIC: Array<[string, RegExp]> = [
    ["0.0.0.0", /unspecified/],
    ["0.1.2.3", /unspecified/],
    ["127.0.0.1", /loopback/],
    ["127.255.255.254", /loopback/],
    ["10.0.0.1", /private/],
    ["10.255.255.255", /private/],
    ["172.16.0.1", /private/],
    ["172.31.255.255", /private/],
    ["192.168.1.1", /private/],
    ["100.64.0.1", /shared/],
    ["100.127.255.255", /shared/],
    ["169.254.169.254", /link-local/],
    ["169.254.0.1", /link-local/],
    ["192.0.0.8", /reserved/],
    ["192.0.2.1", /documentation/],
    ["198.18.0.1", /benchmarking/],
    ["198.51.100.7", /documentation/],
    ["203.0.113.9", /documentation/],
    ["224.0.0.1", /multicast/],
    ["239.255.255.250", /multicast/],
    ["240.0.0.1", /reserved/],
    ["255.255.255.255", /broadcast/],
    ["[::]", /unspecified/],
    ["[::1]", /loopback/],
    ["[fc00::1]", /unique local/],
    ["[fd12:3456:789a::1]", /unique local/],
    ["[fe80::1]", /link-local/],
    ["[febf::1]", /link-local/],
    ["[fec0::1]", /site-local/],
    ["[ff02::1]", /multicast/],
    ["[2001:db8::1]", /documentation/],
    ["[2001::1]", /Teredo/],
    ["[100::1]", /discard/],
    ["[64:ff9b:1::1]", /NAT64/],
    // IPv6 forms that carry an IPv4 address: the embedded address decides.
    ["[::ffff:127.0.0.1]", /loopback/],
    ["[::ffff:7f00:1]", /loopback/],
    ["[0:0:0:0:0:ffff:a9fe:a9fe]", /link-local/],
    ["[::ffff:10.1.2.3]", /private/],
    ["[::127.0.0.1]", /loopback/],
    ["[::a9fe:a9fe]", /link-local/],
    ["[::ffff:0:a00:1]", /private/],
    ["[64:ff9b::a9fe:a9fe]", /link-local/],
    ["[2002:7f00:1::]", /loopback/],
    ["[2002:c0a8:101::1]", /private/],
    // Names that never mean a public host.
    ["localhost", /local name/],
    ["LocalHost", /local name/],
    ["localhost.", /local name/],
    ["api.localhost", /local name/],
    ["printer.local", /local name/],
    ["metadata.google.internal", /local name/],
    ["router.home.arpa", /local name/],
    ["intranet", /single-label/],
  ];

  it.each(NOT_PUBLIC)("%s is refused (%s)", (host, reason) => {
    for (const scheme of ["http", "https"]) expect(refusal(`${scheme}://${host}/x`)).toMatch(reason);
  });

  // The WHATWG URL parser reads these as IPv4 addresses; the rule sees what fetch would connect to.
  const SPELLINGS: Array<[string, RegExp]> = [
    ["http://2130706433/", /loopback/],
    ["http://0x7f000001/", /loopback/],
    ["http://0x7F.1/", /loopback/],
    ["http://0177.0.0.1/", /loopback/],
    ["http://017700000001/", /loopback/],
    ["http://127.1/", /loopback/],
    ["http://127.0.1/", /loopback/],
    ["http://127.0.0.1./", /loopback/],
    ["http://0/", /unspecified/],
    ["http://0xa9.0xfe.0xa9.0xfe/", /link-local/],
    ["http://2852039166/", /link-local/],
    ["http://0251.0376.0251.0376/", /link-local/],
    ["http://012.0.0.1/", /private/],
    ["http://0xa.1/", /private/],
    ["http://%31%32%37.0.0.1/", /loopback/],
    ["http://[0:0:0:0:0:0:0:1]/", /loopback/],
    ["http://[0::01]/", /loopback/],
    ["http://[::FFFF:127.0.0.1]:8080/", /loopback/],
    ["http://LOCALHOST:8080/", /local name/],
  ];

  it.each(SPELLINGS)("%s is refused (%s)", (url, reason) => {
    expect(refusal(url)).toMatch(reason);
  });

  it("lets public addresses and names through", () => {
    for (const url of [
      "https://8.8.8.8/",
      "https://1.1.1.1/",
      "http://172.32.0.1/",
      "http://100.128.0.1/",
      "http://11.0.0.1/",
      "http://169.255.0.1/",
      "http://223.255.255.255/",
      "https://[2606:4700:4700::1111]/",
      "https://[64:ff9b::808:808]/", // NAT64 of 8.8.8.8
      "https://[2002:808:808::1]/", // 6to4 of 8.8.8.8
      "https://[::ffff:8.8.8.8]/",
      "https://idp.example.com/realms/ci",
      "https://accounts.example./",
      "https://token.actions.githubusercontent.example:8443/x",
    ]) {
      expect(refusal(url), url).toBeNull();
    }
  });

  it("refuses every scheme but http and https, whatever is allowed", () => {
    for (const url of [
      "ftp://8.8.8.8/",
      "file:///etc/passwd",
      "data:text/plain,x",
      "ws://idp.example/",
      "gopher://idp.example/",
      "javascript:alert(1)",
    ]) {
      expect(refusal(url), url).toMatch(/scheme/);
      expect(refusal(url, "true"), url).toMatch(/scheme/);
    }
  });
});

describe("ALLOW_PRIVATE_OUTBOUND", () => {
  it("is empty by default: nothing private is allowed", () => {
    expect(parseOutboundAllowance("")).toEqual(NO_PRIVATE_OUTBOUND);
    expect(parseOutboundAllowance("false")).toEqual(NO_PRIVATE_OUTBOUND);
    expect(urlRefusal(new URL("http://127.0.0.1:8080/"), NO_PRIVATE_OUTBOUND)).toMatch(/loopback/);
  });

  it("`true` allows every private address and name", () => {
    for (const url of [
      "http://127.0.0.1:1/",
      "http://[::1]/",
      "http://169.254.169.254/",
      "http://localhost:3000/",
      "http://intranet/",
      "http://[fd00::1]/",
    ]) {
      expect(refusal(url, "true"), url).toBeNull();
    }
  });

  it("a host:port entry allows that host on that port only", () => {
    const allow = "127.0.0.1:8080, [::1]:8443 localhost:3000,10.0.0.5:80";
    expect(refusal("http://127.0.0.1:8080/.well-known/openid-configuration", allow)).toBeNull();
    expect(refusal("https://127.0.0.1:8080/", allow)).toBeNull();
    expect(refusal("http://0x7f000001:8080/", allow)).toBeNull();
    expect(refusal("http://[::ffff:127.0.0.1]:8080/", allow)).toBeNull();
    expect(refusal("https://[::1]:8443/", allow)).toBeNull();
    expect(refusal("http://[0:0::1]:8443/", allow)).toBeNull();
    expect(refusal("http://localhost:3000/", allow)).toBeNull();
    expect(refusal("http://10.0.0.5/", allow)).toBeNull(); // http's default port is 80
    expect(refusal("http://127.0.0.1:8081/", allow)).toMatch(/loopback/);
    expect(refusal("http://127.0.0.1/", allow)).toMatch(/loopback/);
    expect(refusal("http://127.0.0.2:8080/", allow)).toMatch(/loopback/);
    expect(refusal("http://[::1]:8080/", allow)).toMatch(/loopback/);
    expect(refusal("http://localhost:3001/", allow)).toMatch(/local name/);
    expect(refusal("https://10.0.0.5/", allow)).toMatch(/private/); // 443
  });

  it("a CIDR (or a bare address) allows the addresses in it, on any port, but no name", () => {
    const allow = "10.0.0.0/8 fd00::/8, 169.254.169.254 127.0.0.0/30";
    expect(refusal("http://10.9.8.7:1234/", allow)).toBeNull();
    expect(refusal("http://[::ffff:10.0.0.1]/", allow)).toBeNull();
    expect(refusal("http://[fd12::1]:9000/", allow)).toBeNull();
    expect(refusal("http://169.254.169.254/latest/meta-data/", allow)).toBeNull();
    expect(refusal("http://127.0.0.3/", allow)).toBeNull();
    expect(refusal("http://127.0.0.4/", allow)).toMatch(/loopback/);
    expect(refusal("http://169.254.169.253/", allow)).toMatch(/link-local/);
    expect(refusal("http://192.168.0.1/", allow)).toMatch(/private/);
    expect(refusal("http://[fc00::1]/", allow)).toMatch(/unique local/);
    expect(refusal("http://localhost/", "127.0.0.0/8")).toMatch(/local name/);
  });

  it("refuses entries it cannot read, naming them", () => {
    for (const bad of [
      "idp.internal",
      "10.0.0.0/33",
      "fd00::/129",
      "127.0.0.1:99999",
      "127.0.0.1:0",
      "http://127.0.0.1:80",
      "10.0.0.0/8x",
      "[::1]",
      "::1:80:",
      "1.2.3.4/-1",
      "*:80",
      "true false",
    ]) {
      expect(() => parseOutboundAllowance(bad), bad).toThrow(/ALLOW_PRIVATE_OUTBOUND/);
    }
    expect(() => parseOutboundAllowance("127.0.0.1:8080,nonsense")).toThrow(/nonsense/);
  });
});

describe("names resolved to addresses (npm start's outbound service)", () => {
  const url = new URL("https://idp.example.com:8443/realms/ci");
  it("refuses a name whose address is not public, unless its host:port or a CIDR allows it", () => {
    expect(resolvedRefusal(url, "93.184.216.34", NO_PRIVATE_OUTBOUND)).toBeNull();
    expect(resolvedRefusal(url, "2606:4700::1", NO_PRIVATE_OUTBOUND)).toBeNull();
    expect(resolvedRefusal(url, "127.0.0.1", NO_PRIVATE_OUTBOUND)).toMatch(/resolves to 127\.0\.0\.1.*loopback/);
    expect(resolvedRefusal(url, "::ffff:10.0.0.5", NO_PRIVATE_OUTBOUND)).toMatch(/private/);
    expect(resolvedRefusal(url, "fe80::1", NO_PRIVATE_OUTBOUND)).toMatch(/link-local/);
    expect(resolvedRefusal(url, "10.0.0.5", parseOutboundAllowance("10.0.0.0/24"))).toBeNull();
    expect(resolvedRefusal(url, "10.0.0.5", parseOutboundAllowance("idp.example.com:8443"))).toBeNull();
    expect(resolvedRefusal(url, "10.0.0.5", parseOutboundAllowance("10.0.0.5:8443"))).toBeNull();
    expect(resolvedRefusal(url, "10.0.0.5", parseOutboundAllowance("idp.example.com:443"))).toMatch(/private/);
    expect(resolvedRefusal(url, "10.0.0.5", parseOutboundAllowance("true"))).toBeNull();
    expect(resolvedRefusal(url, "not an address", parseOutboundAllowance("true"))).toMatch(/not an IP address/);
  });
});
