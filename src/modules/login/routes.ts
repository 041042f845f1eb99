import { Elysia, t } from "elysia";
import type { Store } from "../../db/client";
import { refuse } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import { withFailures } from "../../http/errors";
import { refuseCutBody } from "../../http/limits";
import { timingEqualizer } from "../auth/accounts";
import type { AuthCore } from "../auth/service";
import { LoginBody, LoginSuccess } from "./model";
import { issueLoginToken } from "./service";

export interface LoginRouteDeps {
  store: Store;
  core: AuthCore;
  addressOf: AddressOf;
  /** Lifetime of the token a login hands out (KEYWARD_LOGIN_TTL). */
  lifetimeMs: number | null;
}

export const loginRoutes = ({ store, core, addressOf, lifetimeMs }: LoginRouteDeps) => {
  void timingEqualizer();
  return new Elysia({ name: "keyward/login", detail: { tags: ["Login"] } }).post(
    "/login",
    async ({ body, request, set, status }) => {
      const ip = addressOf(request);
      const name = body?.username ?? body?.id;
      const decision = await core.login({ name, password: body?.password, ip });
      if (!decision.ok) return refuse({ set, status }, decision);
      const issued = await issueLoginToken(store, decision, lifetimeMs, { name: decision.user, ip });
      if (issued === null) return refuse({ set, status }, { ok: false, reason: "invalid_credentials", credential: "password" });
      return { message: "Login successful" as const, token: issued.token, expires_at: issued.row.expiresAt?.toISOString() ?? null };
    },
    {
      // Optional, so that an empty request is "missing credentials" (401), as the token server's clients expect.
      body: t.Optional(LoginBody),
      beforeHandle: refuseCutBody,
      response: withFailures({ 200: LoginSuccess }, "credential", "body"),
      detail: {
        summary: "Log in with a name and password, get a token",
        security: [],
        description:
          "Form-encoded or JSON. `username` (or `id`) and `password`. The token is an ordinary Keyward token (source login) lasting KEYWARD_LOGIN_TTL. With KEYWARD_OPEN_LOGIN=true (the classroom lab mode), an `id` alone gets a `user` token marked `lab` — only for a name nobody owns (no account, not admin, no tokens of another kind), and at most 20 per address per failure window.",
      },
    },
  );
};
