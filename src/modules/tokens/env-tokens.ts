import { and, eq, isNull, notInArray, sql } from "drizzle-orm";
import type { EnvToken } from "../../config";
import { tablesOf, type Store } from "../../db/client";
import { ADMIN_ROLE, DEVICE_ROLE, isRoleName } from "../../lib/names";
import { hashToken } from "../../lib/token-format";
import { recordAudit } from "../audit/service";
import { newTokenId, retireLabTokens } from "./service";

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

/** Why a value's record was revoked when it left the environment: putting it back revives it. */
const LEFT_ENVIRONMENT = "removed from the environment";

/**
 * Makes the tokens table agree with KEYWARD_ADMIN_TOKEN and API_TOKENS: each configured value
 * gets a record (source `env`, so it is listed and its use counted), and a value no longer
 * configured is revoked, so changing KEYWARD_ADMIN_TOKEN retires the old one. A record revoked
 * for another reason (its user was removed) stays revoked: a restart must not undo that.
 * Returns the configured hashes, which the verifier looks up like any token, and the configured
 * values that stay refused, described by their hint.
 */
export async function syncEnvTokens(store: Store, settings: EnvTokenSettings, now = new Date()): Promise<{ hashes: Set<string>; refused: string[] }> {
  const wanted = wantedTokens(settings);
  return store.write(async (tx) => {
    const { tokens } = tablesOf(tx);
    const refused: string[] = [];
    for (const want of wanted.values()) {
      await retireLabTokens(tx, want.user, now);
      const [existing] = await tx.select().from(tokens).where(eq(tokens.hash, want.hash));
      if (!existing) {
        await tx.insert(tokens).values({ ...want, id: newTokenId(), source: "env", createdAt: now, expiresAt: null });
      } else if (existing.revokedAt === null || existing.revokeReason === LEFT_ENVIRONMENT) {
        await tx
          .update(tokens)
          .set({ ...want, source: "env", revokedAt: null, revokeReason: null, expiresAt: null })
          .where(eq(tokens.id, existing.id));
      } else {
        await tx.update(tokens).set({ hint: want.hint }).where(eq(tokens.id, existing.id));
        refused.push(`${want.hint} (${existing.revokeReason})`);
      }
    }
    const retired = await tx
      .update(tokens)
      .set({ revokedAt: now, revokeReason: LEFT_ENVIRONMENT })
      .where(and(eq(tokens.source, "env"), isNull(tokens.revokedAt), notInArray(tokens.hash, [...wanted.keys()])))
      .returning();
    for (const row of retired) {
      await recordAudit(tx, { action: "token.env_removed", actor: "system", user: row.user, tokenId: row.id, detail: `no longer in ${row.name}` }, now);
    }
    // Older builds kept the last characters of the operator's secret as the hint.
    await tx
      .update(tokens)
      .set({ hint: sql`${tokens.name}` })
      .where(and(eq(tokens.source, "env"), notInArray(tokens.hash, [...wanted.keys()])));
    return { hashes: new Set(wanted.keys()), refused };
  });
}

/**
 * The multi-token list labels its entries by role (`admin:…,analyst:…,viewer:…`), so a label spelled like a
 * role is also the role: `admin` has always made an admin. `device` is reserved for device tokens,
 * and a label no role can be spelled like (`alice@example.com`) gives the default role.
 */
export function roleOfLabel(label: string): string {
  return isRoleName(label) && label !== DEVICE_ROLE ? label : "user";
}

function wantedTokens({ adminToken, apiTokens }: EnvTokenSettings): Map<string, Wanted> {
  const wanted = new Map<string, Wanted>();
  apiTokens.forEach(({ label, token }, index) => {
    const user = label ?? `env-${index + 1}`;
    wanted.set(hashToken(token), {
      hash: hashToken(token),
      // Where the value is configured, never a character of it: the operator chose it, and it may be short.
      hint: `API_TOKENS #${index + 1}`,
      user,
      role: label === null ? "user" : roleOfLabel(label),
      name: "API_TOKENS",
    });
  });
  if (adminToken !== null) {
    wanted.set(hashToken(adminToken), {
      hash: hashToken(adminToken),
      hint: "KEYWARD_ADMIN_TOKEN",
      user: "admin",
      role: ADMIN_ROLE,
      name: "KEYWARD_ADMIN_TOKEN",
    });
  }
  return wanted;
}
