import { describe, expect, test } from "bun:test";
import { isSealed, open, seal, SealedValueError, settingsKey } from "../../src/lib/sealed";

const SECRET = "s".repeat(40);
const key = settingsKey(SECRET);

function refusal(run: () => unknown): SealedValueError {
  try {
    run();
  } catch (error) {
    if (error instanceof SealedValueError) return error;
    throw error;
  }
  throw new Error("expected a SealedValueError");
}

/** Flips one bit of the sealed bytes at `index` (negative: from the end). */
function flipped(stored: string, index: number): string {
  const bytes = Buffer.from(stored.slice("enc:v1:".length), "base64");
  bytes[index < 0 ? bytes.length + index : index]! ^= 1;
  return "enc:v1:" + bytes.toString("base64");
}

describe("a sealed setting", () => {
  test("opens to what was sealed, under the same name and SECRET_KEY; each sealing differs (a fresh IV)", () => {
    for (const value of ["", "plain", "ünïcødé ✓", "x".repeat(10_000)]) {
      const stored = seal(key, "device_signing_key", value);
      expect(stored).toMatch(/^enc:v1:[A-Za-z0-9+/]+={0,2}$/);
      expect(isSealed(stored)).toBe(true);
      expect(open(settingsKey(SECRET), "device_signing_key", stored)).toBe(value);
    }
    expect(seal(key, "a", "same")).not.toBe(seal(key, "a", "same"));
  });

  test("is iv(12) | ciphertext | tag(16): what the spec says opens it with WebCrypto, and the other way round", async () => {
    const ikm = await crypto.subtle.importKey("raw", new TextEncoder().encode(SECRET), "HKDF", false, ["deriveKey"]);
    const hkdf = { name: "HKDF", hash: "SHA-256", salt: new TextEncoder().encode("keyward"), info: new TextEncoder().encode("settings v1") };
    const aes = await crypto.subtle.deriveKey(hkdf, ikm, { name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    const gcm = (iv: Uint8Array) => ({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode("name"), tagLength: 128 });

    const iv = crypto.getRandomValues(new Uint8Array(12));
    const body = new Uint8Array(await crypto.subtle.encrypt(gcm(iv), aes, new TextEncoder().encode("from webcrypto")));
    expect(open(key, "name", "enc:v1:" + Buffer.concat([iv, body]).toString("base64"))).toBe("from webcrypto");

    const ours = Buffer.from(seal(key, "name", "from keyward").slice(7), "base64");
    const plain = await crypto.subtle.decrypt(gcm(ours.subarray(0, 12)), aes, ours.subarray(12));
    expect(new TextDecoder().decode(plain)).toBe("from keyward");
  });

  test("altered anywhere (IV, ciphertext, tag), opened with another SECRET_KEY, or copied to another name: refused", () => {
    const stored = seal(key, "device_signing_key", "the key");
    const attempts = {
      "the IV altered": () => open(key, "device_signing_key", flipped(stored, 0)),
      "the ciphertext altered": () => open(key, "device_signing_key", flipped(stored, 12)),
      "the tag altered": () => open(key, "device_signing_key", flipped(stored, -1)),
      "the tag cut short": () => open(key, "device_signing_key", "enc:v1:" + Buffer.from(stored.slice(7), "base64").subarray(0, -4).toString("base64")),
      "another SECRET_KEY": () => open(settingsKey("t".repeat(40)), "device_signing_key", stored),
      "a SECRET_KEY one character longer": () => open(settingsKey(SECRET + "s"), "device_signing_key", stored),
      "copied under another name": () => open(key, "another_setting", stored),
      "a name that differs only in case": () => open(key, "Device_signing_key", stored),
    };
    for (const [name, attempt] of Object.entries(attempts)) {
      const error = refusal(attempt);
      expect(`${name}: ${error.reason}`).toBe(`${name}: refused`);
      expect(error.message).toContain("another SECRET_KEY");
    }
  });

  test("a value that is not sealed, is damaged, or comes from a newer version says so, and never repeats the value", () => {
    const cases: [string, string][] = [
      ["the plaintext key", "malformed"],
      ["enc:the plaintext key", "malformed"],
      ["enc:v1:", "malformed"],
      ["enc:v1:not base64!", "malformed"],
      ["enc:v1:" + Buffer.alloc(27).toString("base64"), "malformed"],
      ["enc:v2:" + Buffer.alloc(40).toString("base64"), "newer_version"],
    ];
    for (const [stored, reason] of cases) {
      const error = refusal(() => open(key, "device_signing_key", stored));
      expect(`${stored}: ${error.reason}`).toBe(`${stored}: ${reason}`);
      expect(error.message).toStartWith("setting device_signing_key: ");
      expect(error.message).not.toContain("plaintext key");
    }
    expect(refusal(() => open(key, "k", "enc:v2:AAAA")).message).toContain("newer Keyward (v2)");
    expect(isSealed("bWFpbiBrZXk=")).toBe(false);
  });

  test("the derived key does not print as its bytes", async () => {
    const { hkdfSync } = await import("node:crypto");
    const bytes = Buffer.from(hkdfSync("sha256", SECRET, "keyward", "settings v1", 32));
    const shown = `${Bun.inspect(key)} ${JSON.stringify(key)} ${String(key.object)}`;
    for (const encoding of ["hex", "base64", "base64url"] as const) expect(shown).not.toContain(bytes.toString(encoding));
    expect(shown).not.toContain(SECRET);
  });
});
