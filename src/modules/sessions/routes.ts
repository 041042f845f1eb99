import { Elysia, t } from "elysia";
import type { Store } from "../../db/client";
import type { authentication } from "../../http/auth";
import { ErrorBody, withFailures } from "../../http/errors";
import { answerPage, pageOf } from "../../http/pagination";
import { IdParams } from "../../http/path-params";
import type { Sessions } from "../portal/sessions";
import { presentSession, SessionQuery, SessionRecord } from "./model";
import { endSession, listSessions } from "./service";

export interface SessionRouteDeps {
  store: Store;
  auth: ReturnType<typeof authentication>;
  sessions: Sessions;
  now: () => number;
}

/** Browser sign-in sessions, for admins: who is signed in, and ending a session. */
export const sessionRoutes = ({ store, auth, sessions, now }: SessionRouteDeps) =>
  new Elysia({ name: "keyward/sessions", prefix: "/api/v1/sessions", detail: { tags: ["Sessions"] } })
    .use(auth)
    .get(
      "",
      async ({ query, set }) => {
        const at = now();
        // The uses held in memory are written first, so the list judges idleness as /auth/forward does.
        await sessions.flush(at);
        return answerPage(set, await listSessions(store.db, sessions.lifetimes, query, at), (row) => presentSession(row, sessions.lifetimes));
      },
      {
        auth: "admin",
        query: SessionQuery,
        response: withFailures({ 200: pageOf(SessionRecord) }, "credential", "input"),
        detail: {
          summary: "List browser sessions",
          description:
            "The sign-in portal's sessions that are neither ended nor expired (a disabled user's included: they work again if the user is enabled), newest first, `limit` at a time; the X-Next-Cursor header leads to the next page. last_seen_at and ip are written at most once a minute. Never includes the cookie or its hash.",
        },
      },
    )
    .delete(
      "/:id",
      async ({ params, actor, status }) => {
        await endSession(store, params.id, actor(), now());
        return status(204, undefined);
      },
      {
        auth: "admin",
        params: IdParams,
        response: withFailures({ 204: t.Void({ description: "Ended" }), 404: ErrorBody }, "credential", "input"),
        detail: {
          summary: "End a browser session",
          description:
            "Ends it now: /auth/forward refuses its cookie at once (within a second when ended by the CLI beside a running server). 404 session_not_found for an id that never was a session (or was deleted, an hour past KEYWARD_SESSION_MAX), or one already ended.",
        },
      },
    );
