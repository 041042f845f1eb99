import { t } from "elysia";
import { Nullable, WholeNumber } from "../../http/schema";
import { pageQuery } from "../../http/pagination";
import type { AuditRow } from "./service";

export const AuditEvent = t.Object(
  {
    id: WholeNumber(),
    at: t.String({ format: "date-time" }),
    action: t.String({ examples: ["token.revoked"] }),
    actor: Nullable(t.String({ description: "Who did it: a user, cli or system", examples: ["admin"] })),
    user: Nullable(t.String({ description: "Whose token or account it concerned", examples: ["alice"] })),
    token_id: Nullable(t.String()),
    ip: Nullable(t.String()),
    detail: Nullable(t.String()),
    count: WholeNumber({ minimum: 1, description: "How many events the row stands for: identical failures within a minute are one row" }),
  },
  { title: "AuditEvent" },
);
export type AuditEvent = typeof AuditEvent.static;

export const AuditQuery = t.Object({
  ...pageQuery,
  user: t.Optional(t.String({ maxLength: 64, description: "Only events about this user name or device id" })),
  action: t.Optional(t.String({ maxLength: 64, examples: ["auth.failed"] })),
});

export function presentAudit(row: AuditRow): AuditEvent {
  return {
    id: row.id,
    at: row.at.toISOString(),
    action: row.action,
    actor: row.actor,
    user: row.user,
    token_id: row.tokenId,
    ip: row.ip,
    detail: row.detail,
    count: row.count,
  };
}
