import { randomBytes } from "node:crypto";
import pg from "pg";
import { DatabaseNameError, LocalServiceError } from "./errors";

const prefixPattern = /^[a-z][a-z0-9_]{0,39}$/;

function checkedPrefix(prefix: string): string {
  if (!prefixPattern.test(prefix)) {
    throw new DatabaseNameError(`database prefix must be 1-40 characters of a-z, 0-9 and _, starting with a letter`);
  }
  return prefix;
}

/** Where a server URL points, without its credentials: safe to put in an error. */
function where(serverUrl: string): string {
  try {
    const url = new URL(serverUrl);
    return `${url.hostname}:${url.port || "5432"}`;
  } catch {
    throw new LocalServiceError("the server URL is not a valid URL");
  }
}

async function withClient<T>(serverUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return await work(client);
  } catch (error) {
    if (error instanceof LocalServiceError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new LocalServiceError(`database admin on ${where(serverUrl)} failed: ${reason}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export const Databases = {
  /**
   * Creates an empty database named `<prefix>_<random>` on the server `serverUrl` points at and
   * returns a URL to it (same credentials and options). Tests isolate from each other this way.
   */
  async create(serverUrl: string, prefix = "quay"): Promise<string> {
    const name = `${checkedPrefix(prefix)}_${randomBytes(6).toString("hex")}`;
    const url = new URL(serverUrl);
    await withClient(serverUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
    url.pathname = `/${name}`;
    return url.toString();
  },

  /** Drops every database whose name starts with `<prefix>_`, closing its connections; returns how many. */
  async dropAll(serverUrl: string, prefix: string): Promise<number> {
    const pattern = `${checkedPrefix(prefix)}\\_%`;
    return withClient(serverUrl, async (client) => {
      const found = await client.query<{ datname: string }>("SELECT datname FROM pg_database WHERE datname LIKE $1", [pattern]);
      for (const { datname } of found.rows) {
        // names come from pg_database and matched our own pattern, so quoting them is safe
        await client.query(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
      }
      return found.rows.length;
    });
  },
};

/** The brief's name for Databases.create. */
export const createDatabase = Databases.create;
