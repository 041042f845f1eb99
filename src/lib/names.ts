import { DomainError } from "./errors";

const userPattern = /^[\p{L}\p{N}._@+-]{1,64}$/u;
/** The longest role; models cap their role fields with it. */
export const ROLE_MAX_LENGTH = 32;
/** A lower-case word: roles are compared exactly (by routes, by services), so each has one spelling. */
const rolePattern = new RegExp(`^[a-z][a-z0-9_-]{0,${ROLE_MAX_LENGTH - 1}}$`);

/** Whether `text`, already trimmed and lower-cased, is a role's spelling. */
export const isRoleName = (text: string) => rolePattern.test(text);

/** Roles with a meaning of their own; every other role is a label carried to protected services. */
export const ADMIN_ROLE = "admin";
export const DEVICE_ROLE = "device";

/**
 * The one spelling of a name wherever names are compared or keyed (lookups, lockout keys, audit
 * filters): `josé` typed precomposed or decomposed, `Alice` or `alice`, are one person.
 */
export function canonicalName(text: string): string {
  return text.trim().normalize("NFC").toLowerCase();
}

/**
 * User names are stored in their canonical spelling. Letters, digits and `._@+-` only, so an
 * e-mail address works as a name.
 */
export function normalizeUser(text: string): string {
  const user = canonicalName(text);
  if (!userPattern.test(user)) {
    throw new DomainError("invalid", "invalid_user", "A user name is 1 to 64 letters, digits or . _ @ + -");
  }
  return user;
}

export function parseRole(text: string): string {
  const role = text.trim().toLowerCase();
  if (!isRoleName(role)) {
    throw new DomainError("invalid", "invalid_role", `A role is a lower-case word of up to ${ROLE_MAX_LENGTH} letters, digits, _ or -`);
  }
  if (role === DEVICE_ROLE) {
    throw new DomainError("invalid", "reserved_role", "The device role is reserved for device tokens");
  }
  return role;
}
