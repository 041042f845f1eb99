import { count } from "drizzle-orm";
import type { Store } from "../../db/client";
import { settings } from "../../db/schema";

/** True when the database answers a read of a real table: a closed or broken one fails here. */
export async function databaseIsUsable({ db }: Pick<Store, "db">): Promise<boolean> {
  try {
    await db.select({ n: count() }).from(settings);
    return true;
  } catch {
    return false;
  }
}
