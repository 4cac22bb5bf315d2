import { CliError, runCli } from "./cli";

try {
  await runCli(process.argv.slice(2));
} catch (error) {
  // Operator mistakes and known failures are one line; only a real bug shows a stack.
  if (error instanceof CliError) {
    process.stderr.write(`quay: ${error.message}\n`);
    process.exit(1);
  }
  throw error;
}
