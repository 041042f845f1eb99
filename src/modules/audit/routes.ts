import { Elysia } from "elysia";
import type { Db } from "../../db/client";
import type { authentication } from "../../http/auth";
import { withFailures } from "../../http/errors";
import { answerPage, pageOf } from "../../http/pagination";
import { AuditEvent, AuditQuery, presentAudit } from "./model";
import { listAudit, type AuditQueue } from "./service";

export const auditRoutes = ({ db, auth, queue }: { db: Db; auth: ReturnType<typeof authentication>; queue: AuditQueue }) =>
  new Elysia({ name: "keyward/audit", detail: { tags: ["Audit"] } }).use(auth).get(
    "/api/v1/audit",
    async ({ query, set }) => {
      await queue.flush();
      return answerPage(set, await listAudit(db, query), presentAudit);
    },
    {
      auth: "admin",
      query: AuditQuery,
      response: withFailures({ 200: pageOf(AuditEvent) }, "credential", "input"),
      detail: {
        summary: "The audit log, newest first",
        description:
          "Token, user and device changes, admin bootstrap and failed authentications; `limit` at a time, the X-Next-Cursor header leads to the next page.",
      },
    },
  );
