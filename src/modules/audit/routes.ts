import { Elysia, t } from "elysia";
import type { Db } from "../../db/client";
import type { authentication } from "../../http/auth";
import { ErrorBody } from "../../http/errors";
import { canonicalName } from "../../lib/names";
import { AuditEvent, AuditQuery, presentAudit } from "./model";
import { listAudit, type AuditQueue } from "./service";

export const auditRoutes = ({ db, auth, queue }: { db: Db; auth: ReturnType<typeof authentication>; queue: AuditQueue }) =>
  new Elysia({ name: "keyward/audit", detail: { tags: ["Audit"] } }).use(auth).get(
    "/api/v1/audit",
    ({ query }) => {
      queue.flush();
      const user = query.user === undefined ? undefined : canonicalName(query.user);
      return listAudit(db, { limit: query.limit ?? 100, before: query.before, user, action: query.action }).map(presentAudit);
    },
    {
      auth: "admin",
      query: AuditQuery,
      response: { 200: t.Array(AuditEvent), 401: ErrorBody, 403: ErrorBody, 422: ErrorBody },
      detail: {
        summary: "The audit log, newest first",
        description: "Token changes, admin bootstrap and failed authentications. Page with `before`.",
      },
    },
  );
