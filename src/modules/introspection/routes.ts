import { Elysia, t } from "elysia";
import { presented, presentedToken, refuse } from "../../http/auth";
import type { AddressOf } from "../../http/client-address";
import { withFailures } from "../../http/errors";
import { WholeNumber } from "../../http/schema";
import { ADMIN_ROLE } from "../../lib/names";
import type { AuthCore } from "../auth/service";
import { PrincipalSource } from "../tokens/model";

const Introspection = t.Object(
  {
    active: t.Boolean(),
    sub: t.Optional(t.String({ description: "The token id's owner: a user name or a device id" })),
    username: t.Optional(t.String()),
    scope: t.Optional(t.String({ description: "The role" })),
    exp: t.Optional(WholeNumber()),
    iat: t.Optional(WholeNumber()),
    token_type: t.Optional(PrincipalSource),
    client_id: t.Optional(t.String({ description: "The token's id" })),
  },
  { title: "Introspection" },
);

const IntrospectBody = t.Object(
  { token: t.String({ maxLength: 4096 }), token_type_hint: t.Optional(t.String({ maxLength: 64 })) },
  { title: "IntrospectRequest" },
);

const seconds = (ms: number | null | undefined) => (ms === null || ms === undefined ? undefined : Math.floor(ms / 1000));

export interface IntrospectionDeps {
  core: AuthCore;
  addressOf: AddressOf;
  allowQueryToken: boolean;
  /** Besides admin, the role a resource server's token has to introspect (KEYWARD_INTROSPECT_ROLE). */
  role: string;
}

/**
 * RFC 7662 token introspection, for resource servers: any API, login or device token (main or
 * short) in, `{"active": true, …}` or only `{"active": false}` out, never a reason why not.
 */
export const introspectionRoutes = ({ core, addressOf, allowQueryToken, role }: IntrospectionDeps) =>
  new Elysia({ name: "keyward/introspection", detail: { tags: ["Forward auth"] } }).post(
    "/oauth/introspect",
    async ({ body, request, set, status }) => {
      const caller = await core.token(presented(request, addressOf, presentedToken(request, allowQueryToken), [ADMIN_ROLE, role], { devices: false }));
      if (!caller.ok) return refuse({ set, status }, caller);
      const decision = await core.introspect(body.token.trim(), addressOf(request));
      if (!decision.ok) return refuse({ set, status }, decision);
      const { subject } = decision;
      if (subject === null) return { active: false };
      if (subject.kind === "token") {
        const p = subject.principal;
        return { active: true, sub: p.user, username: p.user, scope: p.role, exp: seconds(p.expiresAt?.getTime()), iat: seconds(p.issuedAt.getTime()), token_type: p.source, client_id: p.tokenId };
      }
      return {
        active: true,
        sub: subject.device.id,
        username: subject.device.label ?? subject.device.id,
        scope: "device",
        exp: seconds(subject.token.expiresAt.getTime()),
        iat: seconds(subject.token.issuedAt.getTime()),
        token_type: "device" as const,
        client_id: subject.token.id,
      };
    },
    {
      body: IntrospectBody,
      response: withFailures({ 200: Introspection }, "credential", "body"),
      detail: {
        summary: "Token introspection (RFC 7662)",
        security: [{ bearer: [] }],
        description:
          "Form `token=…` (optional `token_type_hint`). The caller needs an admin token, or one with the role KEYWARD_INTROSPECT_ROLE (default resource-server). An inactive subject that is not Keyward-shaped counts as a failed guess against the caller's address.",
      },
    },
  );
