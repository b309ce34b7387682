import { describe, expect, it } from "vitest";
import { clientAddressKey, clientAddressOf, clientIpOf, LOCAL_CLIENT } from "../../src/lib/client-address";

describe("the client address that login limits count by", () => {
  it("is CF-Connecting-IP; without one (npm start), the local stand-in", () => {
    expect(clientAddressOf(new Request("http://x/", { headers: { "CF-Connecting-IP": "192.0.2.10" } }))).toBe(
      "192.0.2.10",
    );
    expect(clientAddressOf(new Request("http://x/"))).toBe(LOCAL_CLIENT);
    expect(clientAddressKey("  ")).toBe(LOCAL_CLIENT);
  });

  it("counts IPv6 by its /64, whatever way it is written", () => {
    const key = "2001:db8:85a3:42::/64";
    for (const written of [
      "2001:db8:85a3:42::1",
      "2001:0db8:85a3:0042:ffff:1:2:3",
      "2001:DB8:85A3:42:0:0:0:0",
      "2001:db8:85a3:42::192.0.2.1",
    ]) {
      expect(clientAddressKey(written), written).toBe(key);
    }
    expect(clientAddressKey("::1")).toBe("0:0:0:0::/64");
    expect(clientAddressKey("2001:db8::")).toBe("2001:db8:0:0::/64");
  });

  it("reads IPv4-mapped IPv6 as its IPv4", () => {
    expect(clientAddressKey("::ffff:192.0.2.33")).toBe("192.0.2.33");
    expect(clientAddressKey("::ffff:c000:221")).toBe("192.0.2.33");
  });

  it("keeps anything else as sent, at most 64 characters", () => {
    expect(clientAddressKey("1.2.3.256")).toBe("1.2.3.256");
    expect(clientAddressKey("2001:db8::1::2")).toBe("2001:db8::1::2");
    expect(clientAddressKey("x".repeat(100))).toBe("x".repeat(64));
  });
});

describe("the client address that events record", () => {
  const ipOf = (header?: string) =>
    clientIpOf(new Request("http://x/", { headers: header === undefined ? {} : { "CF-Connecting-IP": header } }));

  it("is the whole address from CF-Connecting-IP, in canonical form", () => {
    expect(ipOf("192.0.2.10")).toBe("192.0.2.10");
    expect(ipOf(" 2001:0DB8:85a3:0042:0:0:0:1 ")).toBe("2001:db8:85a3:42::1");
    expect(ipOf("::ffff:192.0.2.33")).toBe("192.0.2.33");
  });

  it("is null without the header (npm start) or for something that is no address", () => {
    expect(ipOf()).toBeNull();
    expect(ipOf("")).toBeNull();
    expect(ipOf("1.2.3.256")).toBeNull();
    expect(ipOf("localhost")).toBeNull();
  });
});
