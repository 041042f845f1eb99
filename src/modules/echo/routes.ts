import { Elysia, t } from "elysia";
import { presentedToken } from "../../http/auth";
import type { Authenticate } from "../../http/authenticate";
import { clientIp } from "../../http/client-ip";
import { errorBody, ErrorBody } from "../../http/errors";
import type { Cidr } from "../../lib/cidr";

export interface EchoRouteDeps {
  authenticate: Authenticate;
  allowQueryToken: boolean;
  trustedProxies: readonly Cidr[];
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

/** Seed 002's protected endpoint: says back what it was sent, to the holder of a valid token. */
export const echoRoutes = ({ authenticate, allowQueryToken, trustedProxies }: EchoRouteDeps) =>
  new Elysia({ name: "keyward/echo", detail: { tags: ["Login"] } }).post(
    "/echo",
    async ({ body, request, server, set, status }) => {
      const ip = clientIp(request, server, trustedProxies);
      const token = presentedToken(request, allowQueryToken) ?? body.token ?? null;
      const outcome = await authenticate({ token, ip, need: "token", invalid: invalidToken });
      if (!outcome.ok) {
        Object.assign(set.headers, outcome.headers);
        return status(outcome.status, outcome.body);
      }
      if (body.id !== undefined && body.id.trim().toLowerCase() !== outcome.principal.user) {
        return status(401, invalidToken);
      }
      set.headers["content-type"] = "text/plain; charset=utf-8";
      return `You said: ${body.text}`;
    },
    {
      body: EchoBody,
      response: { 200: t.String({ examples: ["You said: Hello from authenticated user!"] }), 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
      detail: {
        summary: "Echo text back to a token holder (seed 002)",
        description: "Form-encoded or JSON: `id`, `token` (or a Bearer header) and `text`. Answers plain text `You said: <text>`.",
        security: [{ bearer: [] }],
      },
    },
  );
