/**
 * Whether a text can be stored, and so looked up, on both engines. PostgreSQL's text holds no NUL:
 * comparing a column with one is an error there (a 500), where SQLite finds no row. A lookup by a
 * text that is not storable finds nothing, without asking the database.
 */
export const storable = (text: string): boolean => !text.includes("\0");
