import { t } from "elysia";
import { pageQuery } from "../../http/pagination";
import { ROLE_MAX_LENGTH } from "../../lib/names";
import type { UserRow } from "./service";
import { ScopeList } from "../tokens/model";

const SESSION_SCOPES = "What the account's browser sessions may open beyond its role (forward auth's ?scope=); a change takes effect at once and ends no session";

export const UserRecord = t.Object(
  {
    username: t.String({ examples: ["alice"] }),
    role: t.String({ examples: ["user"] }),
    disabled: t.Boolean(),
    scopes: ScopeList(SESSION_SCOPES),
    created_at: t.String({ format: "date-time" }),
    updated_at: t.String({ format: "date-time" }),
  },
  { title: "User" },
);
export type UserRecord = typeof UserRecord.static;

export const CreateUser = t.Object(
  {
    username: t.String({ minLength: 1, maxLength: 64, description: "Case-insensitive; letters, digits, . _ @ + -", examples: ["alice"] }),
    password: t.String({ minLength: 8, maxLength: 1024, examples: ["correct horse battery staple"] }),
    role: t.Optional(t.String({ maxLength: ROLE_MAX_LENGTH, default: "user", examples: ["analyst"] })),
    scopes: t.Optional(ScopeList(SESSION_SCOPES)),
  },
  { title: "CreateUser" },
);

export const UpdateUser = t.Object(
  {
    password: t.Optional(t.String({ minLength: 8, maxLength: 1024 })),
    role: t.Optional(t.String({ maxLength: ROLE_MAX_LENGTH })),
    disabled: t.Optional(t.Boolean({ description: "true refuses all of the user's tokens at once; false restores them" })),
    scopes: t.Optional(ScopeList(`${SESSION_SCOPES}; [] removes them all`)),
  },
  { title: "UpdateUser", minProperties: 1 },
);

export const UserQuery = t.Object(pageQuery);

export function presentUser(row: UserRow): UserRecord {
  return {
    username: row.username,
    role: row.role,
    disabled: row.disabled,
    scopes: row.scopes ?? [],
    created_at: row.createdAt.toISOString(),
    updated_at: row.updatedAt.toISOString(),
  };
}
