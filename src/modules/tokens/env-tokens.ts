import { and, eq, isNull, notInArray } from "drizzle-orm";
import type { EnvToken } from "../../config";
import { writeTransaction, type Db } from "../../db/client";
import { tokens } from "../../db/schema";
import { ADMIN_ROLE } from "../../lib/names";
import { hashToken, tokenHint } from "../../lib/token-format";
import { recordAudit } from "../audit/service";
import { newTokenId } from "./service";
import { toKnown, type KnownToken } from "./verifier";

export interface EnvTokenSettings {
  adminToken: string | null;
  apiTokens: EnvToken[];
}

interface Wanted {
  hash: string;
  hint: string;
  user: string;
  role: string;
  name: "KEYWARD_ADMIN_TOKEN" | "API_TOKENS";
}

/**
 * Makes the tokens table agree with KEYWARD_ADMIN_TOKEN and API_TOKENS: each configured value
 * gets a record (source `env`, so it is listed and its use counted), and a value no longer
 * configured is revoked, so changing KEYWARD_ADMIN_TOKEN retires the old one. Returns the
 * configured tokens by hash: the verifier checks those in memory, without a query.
 */
export function syncEnvTokens(db: Db, settings: EnvTokenSettings, now = new Date()): Map<string, KnownToken> {
  const wanted = wantedTokens(settings);
  return writeTransaction(db, (tx) => {
    const known = new Map<string, KnownToken>();
    for (const want of wanted.values()) {
      const existing = tx.select().from(tokens).where(eq(tokens.hash, want.hash)).get();
      const row = existing
        ? tx
            .update(tokens)
            .set({ user: want.user, role: want.role, name: want.name, source: "env", revokedAt: null, revokeReason: null, expiresAt: null })
            .where(eq(tokens.id, existing.id))
            .returning()
            .get()
        : tx
            .insert(tokens)
            .values({ ...want, id: newTokenId(), source: "env", createdAt: now, expiresAt: null })
            .returning()
            .get();
      known.set(want.hash, toKnown(row));
    }
    const retired = tx
      .update(tokens)
      .set({ revokedAt: now, revokeReason: "removed from the environment" })
      .where(and(eq(tokens.source, "env"), isNull(tokens.revokedAt), notInArray(tokens.hash, [...wanted.keys()])))
      .returning()
      .all();
    for (const row of retired) {
      recordAudit(tx, { action: "token.env_removed", actor: "system", user: row.user, tokenId: row.id, detail: `no longer in ${row.name}` }, now);
    }
    return known;
  });
}

function wantedTokens({ adminToken, apiTokens }: EnvTokenSettings): Map<string, Wanted> {
  const wanted = new Map<string, Wanted>();
  apiTokens.forEach(({ label, token }, index) => {
    const user = label ?? `env-${index + 1}`;
    wanted.set(hashToken(token), {
      hash: hashToken(token),
      hint: tokenHint(token),
      user,
      role: user === ADMIN_ROLE ? ADMIN_ROLE : "user",
      name: "API_TOKENS",
    });
  });
  if (adminToken !== null) {
    wanted.set(hashToken(adminToken), {
      hash: hashToken(adminToken),
      hint: tokenHint(adminToken),
      user: "admin",
      role: ADMIN_ROLE,
      name: "KEYWARD_ADMIN_TOKEN",
    });
  }
  return wanted;
}
