export { startPostgres, type LocalPostgres, type PostgresOptions } from "./postgres";
export { postgresSuperuser } from "./cluster";
export { startRedis, type LocalRedis, type RedisOptions } from "./redis";
export { Databases, createDatabase } from "./databases";
export { Binaries, type PostgresBinaries } from "./binaries";
export { freePort, portIsClosed } from "./ports";
export { ProcessTree, type ProcessEntry } from "./tree";
export { REPO_ROOT, spawnEntry, startEntry, waitHealthy, waitForLine, type Child, type EntryOptions } from "./entries";
export { ServiceUsers, type ServiceUser } from "./users";
export {
  LocalServiceError,
  BinaryNotFoundError,
  DataDirError,
  ServiceStartError,
  ServiceUserError,
  DatabaseNameError,
  type ServiceName,
} from "./errors";
