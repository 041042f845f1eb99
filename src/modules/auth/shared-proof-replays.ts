import type { SQL } from "bun";
import { sha256Hex } from "../../lib/crypto";
import type { ProofReplays, SpendRefusal, SpentProofs } from "./proof-replays";

/** Expired rows go at most this often: a proof is remembered a minute, so a few seconds more is nothing. */
const PRUNE_EVERY_MS = 10_000;

/**
 * Spent DPoP proofs on a database several instances share: a proof spent at one is refused at
 * every other, which a load balancer would otherwise let a captured one reach. This process's
 * memory answers first (a replay here costs no query); then one atomic insert, outside the write
 * queue (it needs no turn: the primary key decides a race), and none if the database is down:
 * the check then fails, and the request with it (503), never passes unremembered.
 */
export class SharedProofReplays implements SpentProofs {
  private prunedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly local: ProofReplays,
    private readonly sql: SQL,
  ) {}

  spend(thumbprint: string, jti: string, forgetAt: number, now: number): SpendRefusal | null | Promise<SpendRefusal | null> {
    const here = this.local.spend(thumbprint, jti, forgetAt, now);
    if (here !== null) return here;
    const key = sha256Hex(`${thumbprint} ${jti}`);
    return this.sql`INSERT INTO "keyward_dpop_proofs" ("key", "forget_at") VALUES (${key}, ${forgetAt}) ON CONFLICT DO NOTHING RETURNING 1`.then((rows: unknown[]) =>
      rows.length === 1 ? null : "replayed",
    );
  }

  /** Forgets what no proof can be replayed against any more (they are too old); with the other periodic writes. */
  async prune(now: number): Promise<void> {
    if (now - this.prunedAt < PRUNE_EVERY_MS) return;
    this.prunedAt = now;
    await this.sql`DELETE FROM "keyward_dpop_proofs" WHERE "forget_at" <= ${now}`;
  }
}
