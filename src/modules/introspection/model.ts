import { t } from "elysia";
import { WholeNumber } from "../../http/schema";
import { PrincipalSource } from "../tokens/model";

export const Introspection = t.Object(
  {
    active: t.Boolean(),
    sub: t.Optional(t.String({ description: "The token id's owner: a user name or a device id" })),
    username: t.Optional(t.String()),
    scope: t.Optional(t.String({ description: "Space-separated: the role, then the token's scopes if it has any (a device token: device)", examples: ["user nas backup:read"] })),
    exp: t.Optional(WholeNumber()),
    iat: t.Optional(WholeNumber()),
    token_type: t.Optional(PrincipalSource),
    client_id: t.Optional(t.String({ description: "The token's id" })),
    cnf: t.Optional(
      t.Object(
        { jkt: t.String({ description: "The RFC 7638 thumbprint of the key the token is bound to" }) },
        { description: "For a key-bound device token (RFC 9449 §6.2): accept it only with a DPoP proof by this key" },
      ),
    ),
    remaining_uses: t.Optional(
      WholeNumber({ minimum: 1, description: "For a token with a quota: the uses it has left (looking does not spend one). One with none left is not active." }),
    ),
  },
  { title: "Introspection" },
);

/**
 * Every field optional, and no length limits: a missing token or a bad client credential is
 * answered by the route in the OAuth shape, which a failed validation (422, Keyward's shape) is not.
 */
export const IntrospectBody = t.Object(
  {
    token: t.Optional(t.String({ description: "The token to look at (required)" })),
    token_type_hint: t.Optional(t.String({ description: "Ignored: every kind of token is looked up" })),
    client_id: t.Optional(t.String({ description: "client_secret_post: the calling token's id", examples: ["tok_3kTMd9QzLx0bWv7R"] })),
    client_secret: t.Optional(t.String({ description: "client_secret_post: the calling token itself" })),
  },
  { title: "IntrospectRequest" },
);
export type IntrospectBody = typeof IntrospectBody.static;

/** RFC 6749 §5.2's error answer, which OAuth client libraries parse. */
export const OAuthError = t.Object(
  {
    error: t.UnionEnum(["invalid_request", "invalid_client", "insufficient_scope", "temporarily_unavailable"]),
    error_description: t.String({ description: "What went wrong, in words safe to show" }),
  },
  { title: "OAuthError" },
);
export type OAuthError = typeof OAuthError.static;
