import { Elysia, t } from "elysia";
import type { Db } from "../../db/client";
import { countFailure, lockedOut } from "../../http/authenticate";
import { clientIp } from "../../http/client-ip";
import { errorBody, ErrorBody } from "../../http/errors";
import type { Cidr } from "../../lib/cidr";
import type { FailureLimiter } from "../../lib/failure-limiter";
import type { AuditQueue } from "../audit/service";
import { LoginBody, LoginSuccess } from "./model";
import { login, timingEqualizer, type LoginOptions } from "./service";

export interface LoginRouteDeps extends LoginOptions {
  db: Db;
  failures: FailureLimiter;
  audit: AuditQueue;
  trustedProxies: readonly Cidr[];
}

const invalidCredentials = errorBody("invalid_credentials", "Invalid credentials");

export const loginRoutes = ({ db, failures, audit, trustedProxies, ...options }: LoginRouteDeps) => {
  void timingEqualizer();
  return new Elysia({ name: "keyward/login", detail: { tags: ["Login"] } }).post(
    "/login",
    async ({ body, request, server, set, status }) => {
      const ip = clientIp(request, server, trustedProxies);
      const name = (body?.username ?? body?.id)?.trim().toLowerCase();
      const locked = lockedOut(failures, `ip:${ip}`) ?? (name ? lockedOut(failures, `user:${name}`) : null);
      if (locked) {
        Object.assign(set.headers, locked.headers);
        return status(429, locked.body);
      }
      const issued = await login(db, { name, password: body?.password }, options, { name: name ?? "anonymous", ip });
      if (!issued) {
        audit.push({ action: "login.failed", ip, user: name ?? null });
        countFailure(failures, audit, `ip:${ip}`, { ip, user: name });
        if (name) countFailure(failures, audit, `user:${name}`, { ip, user: name });
        return status(401, invalidCredentials);
      }
      return { message: "Login successful" as const, token: issued.token, expires_at: issued.row.expiresAt?.toISOString() ?? null };
    },
    {
      // Optional, so that an empty request is "missing credentials" (401), as seed 000 expects.
      body: t.Optional(LoginBody),
      response: { 200: LoginSuccess, 401: ErrorBody, 429: ErrorBody },
      detail: {
        summary: "Log in with a name and password, get a token",
        description:
          "Form-encoded or JSON. `username` (or `id`) and `password`. The token is an ordinary Keyward token (source login) lasting KEYWARD_LOGIN_TTL. With KEYWARD_OPEN_LOGIN=true, an `id` that is not an account gets a user token without a password (a classroom lab mode).",
      },
    },
  );
};
