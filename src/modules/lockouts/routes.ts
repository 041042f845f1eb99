import { Elysia, t } from "elysia";
import type { authentication } from "../../http/auth";
import { withFailures } from "../../http/errors";
import type { Lockout } from "../auth/lockout";
import { LockoutQuery, LockoutRecord, presentLockout } from "./model";

export const lockoutRoutes = ({ auth, lockout }: { auth: ReturnType<typeof authentication>; lockout: Lockout }) =>
  new Elysia({ name: "keyward/lockouts", detail: { tags: ["Audit"] } }).use(auth).get("/api/v1/lockouts", ({ query }) => lockout.current(query.limit ?? 100).map(presentLockout), {
    auth: "admin",
    query: LockoutQuery,
    response: withFailures({ 200: t.Array(LockoutRecord) }, "credential", "input"),
    detail: {
      summary: "Addresses and names locked out now",
      description:
        "Every address and user name refused now for too many failed attempts (KEYWARD_MAX_FAILURES in KEYWARD_FAILURE_WINDOW), with when each may try again; the latest to end first, at most `limit`. " +
        "Held in this instance's memory: locks taken on the other instances sharing its database are included once loaded (within a second).",
    },
  });
