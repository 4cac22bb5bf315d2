/** An operator-facing failure: printed as one line, no stack. */
export class CliError extends Error {
  override readonly name = "CliError";
}
