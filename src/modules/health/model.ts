import { t } from "elysia";

export const Health = t.Object(
  {
    status: t.Literal("ok"),
    version: t.String({ examples: ["0.1.0"] }),
  },
  { title: "Health" },
);

export const Unhealthy = t.Object(
  {
    status: t.Literal("unavailable"),
    version: t.String(),
    error: t.String(),
    code: t.Literal("database_unavailable"),
  },
  { title: "Unhealthy" },
);
