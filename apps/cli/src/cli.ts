import { ConfigError } from "@quay/config";
import { LocalServiceError } from "@quay/localservices";
import { CliError } from "./errors";

export { CliError };

interface Command {
  readonly summary: string;
  run(args: string[]): Promise<void>;
}

// Each command is loaded only when it runs: `keys` should not pay for loading the Stellar SDK.
const commands: Record<string, Command> = {
  up: {
    summary: "run Quay locally: Postgres, Redis, migrations, api and worker (under ./.data)",
    run: async (args) => (await import("./commands/up")).upCommand(args),
  },
  migrate: {
    summary: "apply database migrations to DATABASE_URL",
    run: async () => (await import("./commands/migrate")).migrateCommand(),
  },
  pay: {
    summary: "make one paid x402 request on the local devnet: quay pay <seller-url>",
    run: async (args) => (await import("./commands/pay")).payCommand(args),
  },
  keys: {
    summary: "tenants' API keys: create, list, revoke (quay keys --help)",
    run: async (args) => (await import("./commands/keys")).keysCommand(args),
  },
  pool: {
    summary: "channel accounts: create, status, top-up, drain, enable (quay pool --help)",
    run: async (args) => (await import("./commands/pool")).poolCommand(args),
  },
};

function usage(): string {
  const lines = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ["usage: quay <command> [options]", "", "commands:", ...lines].join("\n");
}

/** Operator-facing failures from the libraries, turned into one line each. */
function isOperatorFacing(error: unknown): error is Error {
  return error instanceof ConfigError || error instanceof LocalServiceError || error instanceof CliError;
}

export async function runCli(argv: string[]): Promise<void> {
  const [name, ...args] = argv;
  if (!name || name === "help" || name === "--help") {
    process.stdout.write(`${usage()}\n`);
    return;
  }
  const command = commands[name];
  if (!command) throw new CliError(`unknown command "${name}"\n${usage()}`);
  try {
    await command.run(args);
  } catch (error) {
    if (isOperatorFacing(error) && !(error instanceof CliError)) throw new CliError(error.message);
    throw error;
  }
}
