/**
 * A throwaway PostgreSQL for the benchmark's cluster scenario (the test harness's, on loopback),
 * or null with a message when this machine has none: the rest of the run goes on without it.
 */
import { postgresBin, startPostgres } from "../test/helpers/postgres";

export async function withPostgres<T>(work: (url: string) => Promise<T>): Promise<T | null> {
  if (!postgresBin) {
    console.log("no PostgreSQL in /usr/lib/postgresql/*/bin: the PostgreSQL scenario is skipped");
    return null;
  }
  const pg = await startPostgres();
  try {
    return await work(pg.url);
  } finally {
    await pg.stop();
  }
}
