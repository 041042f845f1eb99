import { Elysia } from "elysia";
import type { AnyToken } from "../../http/auth";
import { PerCredential } from "../../http/per-credential";
import { SecuredJson, Serialized } from "../../http/secured-json";
import { withFailures } from "../../http/errors";
import type { Principal } from "../tokens/verifier";
import { DataMessage, Me } from "./model";

const me = (principal: Principal): typeof Me.static => ({
  user: principal.user,
  role: principal.role,
  token_id: principal.tokenId,
  source: principal.source,
  expires_at: principal.expiresAt?.toISOString() ?? null,
  scopes: [...principal.scopes],
});

/** What any token holder may call: the LAN API's /data, and who am I. Each checks its credential itself (see `anyToken`). */
export const principalRoutes = (anyToken: AnyToken) => {
  const data = new PerCredential(
    ({ user }) => user,
    ({ user }) => new Serialized<typeof DataMessage.static>({ message: `Hello ${user}, here is your data!` }),
  );
  return new Elysia({ name: "keyward/principal", detail: { tags: ["Principal"] } })
    .get(
      "/data",
      ({ request, set, status }) => {
        const who = anyToken.check({ request, set, status });
        return who.ok ? new SecuredJson(data.for(who.principal)) : who.answer;
      },
      {
        response: withFailures({ 200: DataMessage }, "credential"),
        detail: { summary: "A protected resource", description: "Any valid token.", security: anyToken.security },
      },
    )
    .get(
      "/api/v1/me",
      ({ request, set, status }) => {
        const who = anyToken.check({ request, set, status });
        return who.ok ? new SecuredJson(me(who.principal)) : who.answer;
      },
      {
        response: withFailures({ 200: Me }, "credential"),
        detail: { summary: "Who the presented token belongs to", security: anyToken.security },
      },
    );
};
