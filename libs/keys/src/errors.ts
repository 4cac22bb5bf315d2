/** Invalid input to create a key (an unknown network, a negative budget...). The message names the field. */
export class ApiKeyInputError extends Error {
  override readonly name = "ApiKeyInputError";
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** No key matches the id or prefix given. */
export class UnknownApiKeyError extends Error {
  override readonly name = "UnknownApiKeyError";
  constructor(readonly reference: string) {
    super(`no API key matches "${reference}"`);
  }
}

/** A prefix given to revoke matches more than one key: the operator has to use the id. */
export class AmbiguousApiKeyError extends Error {
  override readonly name = "AmbiguousApiKeyError";
  constructor(
    readonly reference: string,
    readonly ids: readonly string[],
  ) {
    super(`"${reference}" matches ${ids.length} keys (${ids.join(", ")}): give the id instead`);
  }
}
