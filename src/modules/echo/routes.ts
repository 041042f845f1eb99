import { Elysia, t } from "elysia";
import { presented, presentedToken, refuse } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import { errorBody, withFailures } from "../../http/errors";
import { canonicalName } from "../../lib/names";
import type { AuthCore } from "../auth/service";

export interface EchoRouteDeps {
  core: AuthCore;
  addressOf: AddressOf;
  allowQueryToken: boolean;
}

const EchoBody = t.Object(
  {
    id: t.Optional(t.String({ maxLength: 256, description: "Who is speaking; must be the token's user", examples: ["user@email.com"] })),
    token: t.Optional(t.String({ maxLength: 512, description: "The token, if not sent as a Bearer header" })),
    text: t.String({ maxLength: 65_536, examples: ["Hello from authenticated user!"] }),
  },
  { title: "Echo" },
);

const invalidToken = errorBody("invalid_token", "Invalid token");

/** The login lab's protected endpoint: says back what it was sent, to the holder of a valid token. */
export const echoRoutes = ({ core, addressOf, allowQueryToken }: EchoRouteDeps) =>
  new Elysia({ name: "keyward/echo", detail: { tags: ["Login"] } }).post(
    "/echo",
    async ({ body, request, set, status }) => {
      const token = presentedToken(request, allowQueryToken) ?? body.token ?? null;
      const decision = await core.token(presented(request, addressOf, token, "token"));
      if (!decision.ok) return refuse({ set, status }, decision, invalidToken);
      if (body.id !== undefined && canonicalName(body.id) !== decision.principal.user) {
        return status(401, invalidToken);
      }
      set.headers["content-type"] = "text/plain; charset=utf-8";
      return `You said: ${body.text}`;
    },
    {
      body: EchoBody,
      response: withFailures({ 200: t.String({ examples: ["You said: Hello from authenticated user!"] }) }, "credential", "body"),
      detail: {
        summary: "Echo text back to a token holder (the login lab)",
        description: "Form-encoded or JSON: `id`, `token` (or a Bearer header) and `text`. Answers plain text `You said: <text>`.",
        security: [{ bearer: [] }],
      },
    },
  );
