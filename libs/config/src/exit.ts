import { Config, ConfigError, type QuayConfig } from "./config";

/** For process entry points: a configuration mistake ends the process with its one-line reason, no stack trace. */
export function exitOnConfigError<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
}

export function loadOrExit(env: NodeJS.ProcessEnv = process.env): QuayConfig {
  return exitOnConfigError(() => Config.load(env));
}
