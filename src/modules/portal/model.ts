import { t } from "elysia";

const where = "Where to send the browser after signing in: an http(s) URL on a host the session covers; anything else leads to this page";
const rd = t.String({ maxLength: 4096, description: where, examples: ["https://grafana.home.lan/d/home"] });

/**
 * Not bounded by the schema: a long original URL from nginx would be a 422 in place of the page.
 * Bun bounds the request line (16 KB); `followable` ignores an rd past 4096 characters.
 */
export const SignInQuery = t.Object({
  rd: t.Optional(
    t.String({
      description: `${where}. As nginx sends it, a literal http(s) URL runs to the end of the query, unencoded; one past 4096 characters is ignored`,
      examples: ["https://grafana.home.lan/d/home"],
    }),
  ),
  notice: t.Optional(t.String({ maxLength: 64, description: "What the page reports having just happened: `password` (it was changed); anything else is ignored" })),
});

/** What the sign-in form posts. Each field optional, so a form missing one is a failed sign-in (401), not a 422. */
export const SignInForm = t.Object(
  {
    username: t.Optional(t.String({ maxLength: 256, examples: ["alice"] })),
    password: t.Optional(t.String({ maxLength: 4096 })),
    rd: t.Optional(rd),
  },
  { title: "SignIn" },
);

export const Page = t.String({ description: "An HTML page", contentMediaType: "text/html" });

/** A person's own password change. Each field optional, so a form missing one is shown again with a message, not a 422. */
export const PasswordForm = t.Object(
  {
    current_password: t.Optional(t.String({ maxLength: 4096 })),
    new_password: t.Optional(t.String({ maxLength: 4096 })),
    confirm_password: t.Optional(t.String({ maxLength: 4096, description: "The new password again" })),
  },
  { title: "PasswordChange" },
);
