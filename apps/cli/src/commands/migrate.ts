import { loadOrExit } from "@quay/config";
import { createPool, migrate } from "@quay/db";

export async function migrateCommand(): Promise<void> {
  const config = loadOrExit();
  const pool = createPool({ url: config.database.url, max: 1, applicationName: "quay-migrate" });
  try {
    await migrate(pool);
    process.stdout.write("migrations applied\n");
  } finally {
    await pool.end();
  }
}
