import { t } from "elysia";

/**
 * The ids in paths. Declared, so that one that cannot be decoded (`%FF`) is a 422 in the error
 * shape rather than a null that reaches a service.
 */
export const IdParams = t.Object({ id: t.String({ minLength: 1, maxLength: 512, description: "The record's id" }) });
export const UsernameParams = t.Object({ username: t.String({ minLength: 1, maxLength: 512, description: "The user name, in any spelling" }) });
