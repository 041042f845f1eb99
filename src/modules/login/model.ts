import { t } from "elysia";
import { Nullable } from "../../http/schema";

/** API clients send `username`; the classroom login/echo lab's client sends `id`. Either works, as a form or JSON. */
export const LoginBody = t.Object(
  {
    username: t.Optional(t.String({ maxLength: 256, examples: ["alice"] })),
    id: t.Optional(t.String({ maxLength: 256, description: "The same as username (the classroom login/echo lab sends id)", examples: ["user@email.com"] })),
    password: t.Optional(t.String({ maxLength: 4096, examples: ["correct horse battery staple"] })),
  },
  { title: "Login" },
);

export const LoginSuccess = t.Object(
  {
    message: t.Literal("Login successful"),
    token: t.String({ examples: ["kw_8VLA8vvTyR47mAOFUlmZsqmUqVw0rxZslLysylzl2MR4cFIEc"] }),
    expires_at: Nullable(t.String({ format: "date-time" })),
  },
  { title: "LoginSuccess" },
);
