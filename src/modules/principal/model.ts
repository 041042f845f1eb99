import { t } from "elysia";
import { Nullable } from "../../http/schema";
import { PrincipalSource } from "../tokens/model";

export const DataMessage = t.Object(
  { message: t.String({ examples: ["Hello alice, here is your data!"] }) },
  { title: "DataMessage" },
);

export const Me = t.Object(
  {
    user: t.String({ examples: ["alice"] }),
    role: t.String({ examples: ["user"] }),
    token_id: t.String({ examples: ["tok_3kTMd9QzLx0bWv7R"] }),
    source: PrincipalSource,
    expires_at: Nullable(t.String({ format: "date-time" })),
    scopes: t.Array(t.String(), { description: "What the credential may open beyond its role: a token's scopes, or a session's account's; empty for none", examples: [["nas"]] }),
  },
  { title: "Me" },
);
