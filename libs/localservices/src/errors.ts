/** Base class for every failure of a local service: callers can catch this one type. */
export class LocalServiceError extends Error {
  override name = "LocalServiceError";
}

export type ServiceName = "postgres" | "redis";

const installHint: Record<ServiceName, string> = {
  postgres: "install postgresql (apt-get install -y postgresql)",
  redis: "install redis-server (apt-get install -y redis-server)",
};

/** The server binaries are not on this machine (or not where an override pointed). */
export class BinaryNotFoundError extends LocalServiceError {
  override name = "BinaryNotFoundError";
  constructor(
    readonly service: ServiceName,
    readonly searched: readonly string[],
  ) {
    super(`${service} server binaries not found: ${installHint[service]}; searched ${searched.join(", ") || "nothing"}`);
  }
}

/** The data directory cannot be used: not a cluster, wrong version, or unreachable for the server's user. */
export class DataDirError extends LocalServiceError {
  override name = "DataDirError";
  constructor(
    readonly dataDir: string,
    reason: string,
  ) {
    super(`data dir ${dataDir}: ${reason}`);
  }
}

/** The server did not come up. `logTail` holds the last lines the server wrote, for diagnosis. */
export class ServiceStartError extends LocalServiceError {
  override name = "ServiceStartError";
  constructor(
    readonly service: ServiceName,
    reason: string,
    readonly logTail: string,
  ) {
    super(`${service} did not start: ${reason}${logTail ? `\n--- last lines of the ${service} log ---\n${logTail}` : ""}`);
  }
}

/** Root must hand the servers to an unprivileged account (initdb refuses root), and that account is missing. */
export class ServiceUserError extends LocalServiceError {
  override name = "ServiceUserError";
}

/** A database name or prefix that is not a plain lower-case identifier. */
export class DatabaseNameError extends LocalServiceError {
  override name = "DatabaseNameError";
}
