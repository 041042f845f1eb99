import { describe, expect, test } from "bun:test";
import { ConfigError } from "../../src/config";
import { open, seal, settingsKey } from "../../src/lib/sealed";
import { DeviceSigner, loadSigningSecret } from "../../src/modules/devices/signing";
import { memoryStore } from "../helpers/database";

const SECRET = "shared-secret-key-for-the-tests-0123456789";
const OTHER = "another-secret-key-for-the-tests-987654321";
const SETTING = "device_signing_key";
const shared = { shared: true };
const own = { shared: false };

type TestStore = ReturnType<typeof memoryStore>;
const row = (store: TestStore) => store.sqlite.query("SELECT value FROM settings WHERE key = ?").get(SETTING) as { value: string } | null;
const rows = (store: TestStore) => (store.sqlite.query("SELECT count(*) AS n FROM settings").get() as { n: number }).n;
const put = (store: TestStore, value: string, key = SETTING) => store.sqlite.run("INSERT OR REPLACE INTO settings (key, value, updated_at) VALUES (?, ?, 0)", [key, value]);
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/** The start's refusal: a ConfigError, whose message main.ts prints on one line. */
async function refused(load: Promise<unknown>): Promise<string> {
  const error = await load.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConfigError);
  const message = (error as ConfigError).message;
  expect(message).not.toContain("\n");
  return message;
}

/** Every spelling of the key that could end up in the database or a message. */
function spellings(key: Uint8Array): string[] {
  const bytes = Buffer.from(key);
  return [bytes.toString("base64"), bytes.toString("base64url"), bytes.toString("hex"), bytes.toString("latin1")];
}

describe("the signing key on a shared database", () => {
  test("is made once, kept sealed with SECRET_KEY, and never stored in plaintext", async () => {
    const store = memoryStore();
    const secret = await loadSigningSecret(store, SECRET, shared);
    expect(secret.length).toBe(64);
    expect(hex(secret)).not.toBe(hex(new TextEncoder().encode(SECRET)));
    const stored = row(store)!.value;
    expect(stored).toStartWith("enc:v1:");
    for (const spelling of spellings(secret)) expect(stored).not.toContain(spelling);
    expect(stored).not.toContain(SECRET);
    expect(Buffer.from(open(settingsKey(SECRET), SETTING, stored), "base64").equals(Buffer.from(secret))).toBe(true);
  });

  test("two instances, one after the other or starting at once, agree on one key and one row", async () => {
    const store = memoryStore();
    const first = await loadSigningSecret(store, SECRET, shared);
    const stored = row(store)!.value;
    const [second, third] = await Promise.all([loadSigningSecret(store, SECRET, shared), loadSigningSecret(store, SECRET, shared)]);
    expect([hex(second), hex(third)]).toEqual([hex(first), hex(first)]);
    expect(row(store)!.value).toBe(stored);

    const fresh = memoryStore();
    const racing = await Promise.all([1, 2, 3].map(() => loadSigningSecret(fresh, SECRET, shared)));
    expect(new Set(racing.map(hex)).size).toBe(1);
    expect(rows(fresh)).toBe(1);
  });

  test("device tokens signed by one instance verify on another", async () => {
    const store = memoryStore();
    const [a, b] = await Promise.all([loadSigningSecret(store, SECRET, shared), loadSigningSecret(store, SECRET, shared)]);
    const one = new DeviceSigner(a, "HS256");
    const another = new DeviceSigner(await loadSigningSecret(store, SECRET, shared), "HS256");
    const now = Math.floor(Date.now() / 1000);
    const token = await one.sign({ deviceId: "dev_1", tokenId: "dtk_1", fingerprint: "fp-1", issuedAt: now, expiresAt: now + 3600, keyThumbprint: null });
    expect(await another.verify(token)).toMatchObject({ ok: true, claims: { deviceId: "dev_1", fingerprint: "fp-1" } });
    expect(new DeviceSigner(b, "HS256").shortTokenOf(token)).toBe(one.shortTokenOf(token));
  });

  test("a plaintext key (a SQLite database run without SECRET_KEY, restored there) is sealed in place and kept", async () => {
    const store = memoryStore();
    const before = await loadSigningSecret(store, null, own);
    expect(row(store)!.value).toBe(Buffer.from(before).toString("base64"));
    const [after, again] = await Promise.all([loadSigningSecret(store, SECRET, shared), loadSigningSecret(store, SECRET, shared)]);
    expect([hex(after), hex(again)]).toEqual([hex(before), hex(before)]);
    const stored = row(store)!.value;
    expect(stored).toStartWith("enc:v1:");
    for (const spelling of spellings(before)) expect(stored).not.toContain(spelling);
    expect(hex(await loadSigningSecret(store, SECRET, shared))).toBe(hex(before));
  });

  test("without SECRET_KEY the start is refused, and nothing is written", async () => {
    const store = memoryStore();
    expect(await refused(loadSigningSecret(store, null, shared))).toContain("SECRET_KEY is required");
    expect(rows(store)).toBe(0);
  });

  test("another SECRET_KEY than the other instances' refuses the start, and leaves their key alone", async () => {
    const store = memoryStore();
    const secret = await loadSigningSecret(store, SECRET, shared);
    const stored = row(store)!.value;
    const message = await refused(loadSigningSecret(store, OTHER, shared));
    expect(message).toContain("SECRET_KEY differs from the one the other instances");
    for (const text of [...spellings(secret), SECRET, OTHER]) expect(message).not.toContain(text);
    expect(row(store)!.value).toBe(stored);
  });

  test("a sealed value altered, or copied from another setting, refuses the start", async () => {
    const altered = memoryStore();
    await loadSigningSecret(altered, SECRET, shared);
    const bytes = Buffer.from(row(altered)!.value.slice(7), "base64");
    bytes[20]! ^= 1;
    put(altered, "enc:v1:" + bytes.toString("base64"));
    expect(await refused(loadSigningSecret(altered, SECRET, shared))).toContain("SECRET_KEY differs");

    const moved = memoryStore();
    put(moved, seal(settingsKey(SECRET), "some_other_secret", Buffer.alloc(64, 7).toString("base64")));
    expect(await refused(loadSigningSecret(moved, SECRET, shared))).toContain("SECRET_KEY differs");
  });

  test("a value sealed by a newer version says so", async () => {
    const store = memoryStore();
    put(store, "enc:v2:" + Buffer.alloc(64).toString("base64"));
    expect(await refused(loadSigningSecret(store, SECRET, shared))).toContain("newer Keyward (v2)");
  });
});

describe("the signing key on a database of its own (SQLite), as before", () => {
  test("SECRET_KEY signs, and a plaintext row beside it is left unused and unchanged", async () => {
    const store = memoryStore();
    put(store, Buffer.alloc(64, 1).toString("base64"));
    expect(Buffer.from(await loadSigningSecret(store, SECRET, own)).toString()).toBe(SECRET);
    expect(row(store)!.value).toBe(Buffer.alloc(64, 1).toString("base64"));
  });

  test("a sealed row (restored from a shared database) is opened with SECRET_KEY and left as it is", async () => {
    const store = memoryStore();
    const secret = await loadSigningSecret(store, SECRET, shared);
    const stored = row(store)!.value;
    expect(hex(await loadSigningSecret(store, SECRET, own))).toBe(hex(secret));
    expect(row(store)!.value).toBe(stored);
  });

  test("a sealed row without SECRET_KEY, or with another one, refuses the start and stays as it is", async () => {
    const store = memoryStore();
    await loadSigningSecret(store, SECRET, shared);
    const stored = row(store)!.value;
    expect(await refused(loadSigningSecret(store, null, own))).toContain("sealed with SECRET_KEY");
    expect(await refused(loadSigningSecret(store, OTHER, own))).toContain("SECRET_KEY cannot open the device signing key");
    expect(row(store)!.value).toBe(stored);
  });
});
