import { count } from "drizzle-orm";
import { tablesOf, type Store } from "../../db/client";

/** True when the database answers a read of a real table: a closed or broken one fails here. */
export async function databaseIsUsable({ db }: Pick<Store, "db">): Promise<boolean> {
  const { settings } = tablesOf(db);
  try {
    await db.select({ n: count() }).from(settings);
    return true;
  } catch {
    return false;
  }
}
