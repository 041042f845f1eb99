import { describe, expect, test } from "bun:test";
import { deviceTokens, devices, tokens } from "../../../src/db/schema";
import { isLive, liveAt, notLiveAt, whyNotLive } from "../../../src/modules/tokens/liveness";
import { memoryStore } from "../../helpers/database";

const T = 1_800_000_000_000;
const at = new Date(T);
/** Each end absent, a millisecond before `at`, exactly at it, or a millisecond after. */
const ends = [null, T - 1, T, T + 1] as const;
const cases = ends.flatMap((revokedAt) => ends.map((expiresAt) => ({ revokedAt, expiresAt })));
const date = (ms: number | null) => (ms === null ? null : new Date(ms));

describe("whether a token is live", () => {
  test.each([
    [{ revokedAt: null, expiresAt: null }, null],
    [{ revokedAt: T + 1, expiresAt: null }, null],
    [{ revokedAt: T, expiresAt: null }, "revoked"],
    [{ revokedAt: null, expiresAt: T + 1 }, null],
    [{ revokedAt: null, expiresAt: T }, "expired"],
    [{ revokedAt: T - 1, expiresAt: T - 1 }, "revoked"],
    [{ revokedAt: T + 1, expiresAt: T }, "expired"],
  ] as const)("%o at T: %p", (token, why) => {
    expect(whyNotLive(token, T)).toBe(why);
    expect(whyNotLive({ revokedAt: date(token.revokedAt), expiresAt: date(token.expiresAt) }, at)).toBe(why);
  });

  test("the query conditions pick exactly the API tokens isLive accepts, at every boundary", () => {
    const { db } = memoryStore();
    cases.forEach(({ revokedAt, expiresAt }, i) =>
      db.insert(tokens).values({ id: `tok_${i}`, user: "u", hash: `h${i}`, hint: "kw_…", source: "api", createdAt: new Date(0), revokedAt: date(revokedAt), expiresAt: date(expiresAt) }).run(),
    );
    const rows = db.select().from(tokens).all();
    const ids = (list: { id: string }[]) => list.map((row) => row.id).sort();
    const live = ids(rows.filter((row) => isLive(row, at)));
    const dead = ids(rows.filter((row) => !isLive(row, at)));
    expect(live.length).toBe(4);
    expect(live).toEqual(ids(cases.flatMap(({ revokedAt, expiresAt }, i) => (isLive({ revokedAt, expiresAt }, T) ? [{ id: `tok_${i}` }] : []))));
    expect(ids(db.select({ id: tokens.id }).from(tokens).where(liveAt(at, tokens)).all())).toEqual(live);
    expect(ids(db.select({ id: tokens.id }).from(tokens).where(notLiveAt(at, tokens)).all())).toEqual(dead);
  });

  test("the same holds for device tokens, whose expiry is always set", () => {
    const { db } = memoryStore();
    db.insert(devices).values({ id: "dev_1", fingerprint: "fp", status: "active", firstSeen: at, lastSeen: at }).run();
    cases
      .filter(({ expiresAt }) => expiresAt !== null)
      .forEach(({ revokedAt, expiresAt }, i) =>
        db.insert(deviceTokens).values({ id: `dtk_${i}`, deviceId: "dev_1", mainHash: `m${i}`, shortHash: `s${i}`, issuedAt: new Date(0), revokedAt: date(revokedAt), expiresAt: date(expiresAt)! }).run(),
      );
    const rows = db.select().from(deviceTokens).all();
    const ids = (list: { id: string }[]) => list.map((row) => row.id).sort();
    const live = ids(rows.filter((row) => isLive(row, at)));
    expect(live.length).toBe(2);
    expect(ids(db.select({ id: deviceTokens.id }).from(deviceTokens).where(liveAt(at, deviceTokens)).all())).toEqual(live);
    expect(ids(db.select({ id: deviceTokens.id }).from(deviceTokens).where(notLiveAt(at, deviceTokens)).all())).toEqual(ids(rows.filter((row) => !isLive(row, at))));
  });
});
