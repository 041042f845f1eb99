import type { Principal } from "../modules/tokens/verifier";

/** Past this many credentials the oldest is made again when next seen: far more than a LAN uses at once. */
const HELD = 10_000;

/**
 * What a hot route answers every request of one credential with, made once and reused: its JSON
 * body and headers (serialising and setting them on every answer cost 4–7% of GET /data's and
 * /auth/forward's throughput). Kept by token (or session) id, and made again when `basis`, what the
 * answer depends on, differs from what it was made for; at most 10,000 credentials, the oldest
 * made again. Only admitted credentials get here, so strangers add nothing.
 */
export class PerCredential<V> {
  private readonly made = new Map<string, { principal: Principal; basis: string; value: V }>();

  constructor(
    private readonly basis: (principal: Principal) => string,
    private readonly make: (principal: Principal) => V,
    private readonly held = HELD,
  ) {}

  for(principal: Principal): V {
    const known = this.made.get(principal.tokenId);
    // The verifier hands out the same principal until the database changes: then the basis decides.
    if (known !== undefined && known.principal === principal) return known.value;
    const basis = this.basis(principal);
    if (known !== undefined && known.basis === basis) {
      known.principal = principal;
      return known.value;
    }
    const value = this.make(principal);
    this.made.delete(principal.tokenId);
    if (this.made.size >= this.held) this.made.delete(this.made.keys().next().value!);
    this.made.set(principal.tokenId, { principal, basis, value });
    return value;
  }
}
