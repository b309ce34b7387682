/**
 * Quay's human-readable quota sizes (src/quota/byte-sizes.ts): `limit` strings as bitmath's
 * `parse_string_unsafe` reads them after Quay's pattern, and `limit` as
 * `Byte(n).best_prefix().format("{value:.1f} {unit}")` shows it, Python's rounding included.
 */
import { describe, expect, it } from "vitest";
import { humanBytes, parseLimit } from "../../src/quota/byte-sizes";

describe("parseLimit", () => {
  it("reads binary (Ki, KiB) and decimal (KB, and a bare K: bitmath's SI default) units, and plain bytes", () => {
    const cases: Array<[string, bigint]> = [
      ["10 Gi", 10n * 1024n ** 3n],
      ["10 GiB", 10n * 1024n ** 3n],
      ["10GiB", 10n * 1024n ** 3n],
      ["1 Yi", 1024n ** 8n],
      ["2 GB", 2_000_000_000n],
      ["2 G", 2_000_000_000n],
      ["7 KB", 7000n],
      ["7 K", 7000n],
      ["100 B", 100n],
      ["100", 100n],
      ["0", 0n],
    ];
    for (const [text, bytes] of cases) expect(parseLimit(text), text).toBe(bytes);
  });

  it("refuses what Quay's pattern refuses", () => {
    for (const text of ["", " 10 Gi", "10 Gi ", "10  Gi", "10.5 Gi", "10 gi", "10 kb", "10 GIB", "Gi", "-5", "10 Gi\n"])
      expect(parseLimit(text), JSON.stringify(text)).toBeNull();
  });
});

describe("humanBytes", () => {
  it("picks the largest binary prefix and shows one decimal, as bitmath does", () => {
    const cases: Array<[number, string]> = [
      [10737418240, "10.0 GiB"],
      [21474836480, "20.0 GiB"],
      [104857600, "100.0 MiB"],
      [1023, "1023.0 Byte"],
      [1024, "1.0 KiB"],
      [1, "1.0 Byte"],
      [2_000_000_000, "1.9 GiB"],
      [1024 ** 5, "1.0 PiB"],
      [Number.MAX_SAFE_INTEGER, "8.0 PiB"],
    ];
    for (const [bytes, text] of cases) expect(humanBytes(bytes), String(bytes)).toBe(text);
  });

  it("rounds exact halves to even, as Python's format does", () => {
    // 1.25 KiB and 1.75 KiB are exact halves of a tenth; 1.3 and 1.8 would be JavaScript's toFixed.
    expect(humanBytes(1280)).toBe("1.2 KiB");
    expect(humanBytes(1792)).toBe("1.8 KiB");
    expect(humanBytes(2304)).toBe("2.2 KiB");
    expect(humanBytes(1300)).toBe("1.3 KiB");
  });
});
