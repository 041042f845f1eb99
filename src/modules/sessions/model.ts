import { t } from "elysia";
import { pageQuery } from "../../http/pagination";
import { sessionEndsAt, type SessionLifetimes } from "../portal/sessions";
import type { SessionRow } from "./service";

const Timestamp = (description: string) => t.String({ format: "date-time", description, examples: ["2026-11-23T10:00:00.000Z"] });

export const SessionRecord = t.Object(
  {
    id: t.String({ description: "Public id, safe to show and log; /auth/forward's X-Keyward-Token-Id for this session", examples: ["ses_4fQ8mZ2kLx0bWv7R"] }),
    user: t.String({ examples: ["alice"] }),
    created_at: Timestamp("When the browser signed in"),
    last_seen_at: Timestamp("Its latest use, written at most once a minute"),
    ip: t.String({ description: "The address of that use (the sign-in's until then), written with it", examples: ["192.168.1.23"] }),
    expires_at: Timestamp("When it ends if unused from now on: the earlier of its idle end (KEYWARD_SESSION_IDLE) and its absolute end (KEYWARD_SESSION_MAX)"),
  },
  { title: "Session" },
);
export type SessionRecord = typeof SessionRecord.static;

export const SessionQuery = t.Object({
  ...pageQuery,
  user: t.Optional(t.String({ maxLength: 64, description: "Only this user's sessions (any spelling of the name)" })),
});

/** A session as the API shows it: no hash, no cookie value (neither is ever read for it). */
export function presentSession(row: SessionRow, lifetimes: SessionLifetimes): SessionRecord {
  return {
    id: row.id,
    user: row.user,
    created_at: row.createdAt.toISOString(),
    last_seen_at: row.lastSeenAt.toISOString(),
    ip: row.ip,
    expires_at: new Date(sessionEndsAt(lifetimes, { createdAt: row.createdAt.getTime(), lastSeenAt: row.lastSeenAt.getTime() })).toISOString(),
  };
}
