import { Elysia, t } from "elysia";
import type { Store } from "../../db/client";
import type { authentication } from "../../http/auth";
import { ErrorBody, withFailures } from "../../http/errors";
import { IdParams } from "../../http/path-params";
import { refuseCutBody } from "../../http/limits";
import { answerPage, pageOf } from "../../http/pagination";
import { parseDuration, parseLifetime } from "../../lib/durations";
import { DomainError } from "../../lib/errors";
import {
  CreateToken,
  IssuedTokenRecord,
  presentToken,
  RevokedCount,
  RevokeUserTokens,
  RotateToken,
  TokenQuery,
  TokenRecord,
} from "./model";
import { parseLimits } from "./limits";
import { getToken, issueToken, listTokens, revokeToken, revokeUserTokens, rotateToken } from "./service";
import type { RateLimiter } from "./rate-limit";
import type { UsageTracker } from "./usage";

export interface TokenRouteDeps {
  store: Store;
  auth: ReturnType<typeof authentication>;
  usage: UsageTracker;
  /** Tokens' rate-limit windows, in this instance's memory. */
  rates: RateLimiter;
  defaultLifetimeMs: number | null;
  now: () => number;
}

/** Wraps a duration parser so a bad value is a 422 naming the field. */
function duration<T>(field: string, parse: (text: string) => T, text: string): T {
  try {
    return parse(text);
  } catch (error) {
    throw new DomainError("invalid", "invalid_duration", `${field}: ${(error as Error).message}`);
  }
}

export const tokenRoutes = ({ store, auth, usage, rates, defaultLifetimeMs, now }: TokenRouteDeps) =>
  new Elysia({ name: "keyward/tokens", prefix: "/api/v1/tokens", detail: { tags: ["Tokens"] } })
    .use(auth)
    .post(
      "",
      async ({ body, actor, status }) => {
        const lifetimeMs = body.expires_in === undefined ? defaultLifetimeMs : duration("expires_in", parseLifetime, body.expires_in);
        const { token, row } = await issueToken(
          store,
          { user: body.user, name: body.name, role: body.role, lifetimeMs, allowedIps: body.allowed_ips, source: "api", scopes: body.scopes, limits: parseLimits(body) },
          actor(),
        );
        return status(201, { token, ...presentToken(row) });
      },
      {
        auth: "admin",
        body: CreateToken,
        response: withFailures({ 201: IssuedTokenRecord }, "credential", "body"),
        detail: {
          summary: "Create a token",
          description:
            "Returns the token once, with its record. Keyward stores only its hash. `rate_limit`, `remaining_uses` and `refill` limit it: see the README's rate limits and quotas.",
        },
      },
    )
    .get(
      "",
      async ({ query, set }) => {
        await usage.flush();
        return answerPage(set, await listTokens(store.db, query), presentToken);
      },
      {
        auth: "admin",
        query: TokenQuery,
        response: withFailures({ 200: pageOf(TokenRecord) }, "credential", "input"),
        detail: {
          summary: "List tokens",
          description: "Newest first, `limit` at a time; the X-Next-Cursor header leads to the next page. Never includes a secret or a hash.",
        },
      },
    )
    .post(
      "/revoke",
      async ({ body, actor }) => {
        const revoked = await revokeUserTokens(store, body.user, actor());
        return revoked;
      },
      {
        auth: "admin",
        body: RevokeUserTokens,
        response: withFailures({ 200: RevokedCount }, "credential", "body"),
        detail: {
          summary: "Revoke all of one user's tokens",
          description: "Tokens from the environment (API_TOKENS, KEYWARD_ADMIN_TOKEN) are left alone.",
        },
      },
    )
    .get(
      "/:id",
      async ({ params }) => {
        await usage.flush();
        const record = presentToken(await getToken(store.db, params.id));
        if (record.rate_limit === null) return record;
        const window = rates.window(record.id, now());
        return { ...record, rate_limit_window: window && { used: window.used, refused: window.refused, ends_at: new Date(window.endsAt).toISOString() } };
      },
      {
        auth: "admin",
        params: IdParams,
        response: withFailures({ 200: TokenRecord, 404: ErrorBody }, "credential", "input"),
        detail: { summary: "Show one token's record" },
      },
    )
    .delete(
      "/:id",
      async ({ params, actor }) => {
        const row = await revokeToken(store, params.id, actor());
        return presentToken(row);
      },
      {
        auth: "admin",
        params: IdParams,
        response: withFailures({ 200: TokenRecord, 404: ErrorBody, 409: ErrorBody }, "credential", "input"),
        detail: {
          summary: "Revoke a token",
          description: "The record stays, with revoked_at. A token from the environment cannot be revoked here (409).",
        },
      },
    )
    .post(
      "/:id/rotate",
      async ({ params, body, actor, status }) => {
        const graceMs = body?.grace === undefined ? 0 : duration("grace", parseDuration, body.grace);
        const { token, row } = await rotateToken(store, params.id, graceMs, actor());
        return status(201, { token, ...presentToken(row) });
      },
      {
        auth: "admin",
        params: IdParams,
        body: t.Optional(RotateToken),
        beforeHandle: refuseCutBody,
        response: withFailures({ 201: IssuedTokenRecord, 404: ErrorBody, 409: ErrorBody }, "credential", "body", "input"),
        detail: {
          summary: "Rotate a token",
          description:
            "Issues a successor with the same user, role, name, allowed IPs, scopes, lifetime and limits, and the quota's uses left (during its grace period the old token spends the successor's; the rate-limit window starts afresh). The old token works until `grace` ends (default: revoked at once); its record shows revoked_at and replaced_by.",
        },
      },
    );
