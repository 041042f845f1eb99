import { t } from "elysia";
import { ErrorBody } from "../../http/errors";

export const Health = t.Object(
  {
    status: t.Literal("ok"),
    version: t.String({ examples: ["0.1.0"] }),
  },
  { title: "Health" },
);

/** The error shape (code database_unavailable), with the status and version a monitor reads. */
export const Unhealthy = t.Object(
  {
    status: t.Literal("unavailable"),
    version: t.String(),
    ...ErrorBody.properties,
  },
  { title: "Unhealthy" },
);
