import { fileURLToPath } from "node:url";
import { migrate as runMigrations } from "drizzle-orm/node-postgres/migrator";
import { createDb, type DbPool } from "./client";

export const MIGRATIONS_FOLDER = fileURLToPath(new URL("../../../migrations", import.meta.url));

/** Applies every pending migration in migrations/, in order, inside drizzle's migration lock. */
export async function migrate(pool: DbPool): Promise<void> {
  await runMigrations(createDb(pool), { migrationsFolder: MIGRATIONS_FOLDER });
}
