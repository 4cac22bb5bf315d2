export * as schema from "./schema";
export { amount } from "./columns";
export { columnName, enumLiteral, isUniqueViolation } from "./sql";
export { createPool, createDb, preparedOnce, type Db, type DbPool, type DbTx, type DbLike } from "./client";
export { migrate, MIGRATIONS_FOLDER } from "./migrate";
