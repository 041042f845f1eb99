import { Elysia } from "elysia";
import type { authentication } from "../../http/auth";
import { PerCredential } from "../../http/per-credential";
import { SecuredJson, Serialized } from "../../http/secured-json";
import { withFailures } from "../../http/errors";
import { DataMessage, Me } from "./model";

/** What any token holder may call: the LAN API's /data, and who am I. */
export const principalRoutes = (auth: ReturnType<typeof authentication>) => {
  const data = new PerCredential(
    ({ user }) => user,
    ({ user }) => new Serialized<typeof DataMessage.static>({ message: `Hello ${user}, here is your data!` }),
  );
  return new Elysia({ name: "keyward/principal", detail: { tags: ["Principal"] } })
    .use(auth)
    .get("/data", ({ principal }) => new SecuredJson(data.for(principal)), {
      auth: "token",
      response: withFailures({ 200: DataMessage }, "credential"),
      detail: { summary: "A protected resource", description: "Any valid token." },
    })
    .get(
      "/api/v1/me",
      ({ principal }) =>
        new SecuredJson<typeof Me.static>({
          user: principal.user,
          role: principal.role,
          token_id: principal.tokenId,
          source: principal.source,
          expires_at: principal.expiresAt?.toISOString() ?? null,
          scopes: [...principal.scopes],
        }),
      {
        auth: "token",
        response: withFailures({ 200: Me }, "credential"),
        detail: { summary: "Who the presented token belongs to" },
      },
    );
};
