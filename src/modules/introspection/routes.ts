import { Elysia, t } from "elysia";
import type { Db } from "../../db/client";
import type { authentication } from "../../http/auth";
import { errorBody, ErrorBody } from "../../http/errors";
import { ADMIN_ROLE } from "../../lib/names";
import { verifyMainToken, verifyShortToken, type DeviceCheck } from "../devices/service";
import { looksLikeJwt, looksLikeShortToken, type DeviceSigner } from "../devices/signing";
import type { TokenVerifier } from "../tokens/verifier";

const Introspection = t.Object(
  {
    active: t.Boolean(),
    sub: t.Optional(t.String({ description: "The token id's owner: a user name or a device id" })),
    username: t.Optional(t.String()),
    scope: t.Optional(t.String({ description: "The role" })),
    exp: t.Optional(t.Integer()),
    iat: t.Optional(t.Integer()),
    token_type: t.Optional(t.UnionEnum(["api", "cli", "env", "login", "bootstrap", "device"])),
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
  db: Db;
  auth: ReturnType<typeof authentication>;
  verifier: TokenVerifier;
  signer: DeviceSigner;
  /** Besides admin, the role a resource server's token has to introspect (KEYWARD_INTROSPECT_ROLE). */
  role: string;
}

/**
 * RFC 7662 token introspection, for resource servers: any API, login or device token (main or
 * short) in, `{"active": true, …}` or only `{"active": false}` out, never a reason why not.
 */
export const introspectionRoutes = ({ db, auth, verifier, signer, role }: IntrospectionDeps) =>
  new Elysia({ name: "keyward/introspection", detail: { tags: ["Forward auth"] } }).use(auth).post(
    "/oauth/introspect",
    async ({ body, principal, status }) => {
      if (principal.role !== ADMIN_ROLE && principal.role !== role) {
        return status(403, errorBody("insufficient_role", `Introspection needs the admin or ${role} role`));
      }
      const token = body.token.trim();
      const result = verifier.verify(token, null);
      if (result.ok) {
        const p = result.principal;
        return { active: true, sub: p.user, username: p.user, scope: p.role, exp: seconds(p.expiresAt?.getTime()), iat: seconds(p.issuedAt.getTime()), token_type: p.source, client_id: p.tokenId };
      }
      let device: DeviceCheck = { ok: false, reason: "invalid" };
      if (looksLikeJwt(token)) device = await verifyMainToken(db, signer, token, null);
      else if (looksLikeShortToken(token)) device = await verifyShortToken(db, signer, token, null);
      if (!device.ok) return { active: false };
      return {
        active: true,
        sub: device.device.id,
        username: device.device.label ?? device.device.id,
        scope: "device",
        exp: seconds(device.token.expiresAt.getTime()),
        iat: seconds(device.token.issuedAt.getTime()),
        token_type: "device" as const,
        client_id: device.token.id,
      };
    },
    {
      auth: "token",
      body: IntrospectBody,
      response: { 200: Introspection, 401: ErrorBody, 403: ErrorBody, 422: ErrorBody },
      detail: {
        summary: "Token introspection (RFC 7662)",
        description: "Form `token=…` (optional `token_type_hint`). The caller needs an admin token, or one with the role KEYWARD_INTROSPECT_ROLE (default resource-server).",
      },
    },
  );
