/** The subset of a pino logger the devnet uses, so callers can pass pino itself. */
export interface DevnetLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

const noop = (): void => {};

export const silentLogger: DevnetLogger = { info: noop, warn: noop, error: noop, debug: noop };
