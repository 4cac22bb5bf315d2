export { Config, ConfigError, type QuayConfig, type NetworkConfig, type NetworkId } from "./config";
export { loadOrExit, exitOnConfigError } from "./exit";
