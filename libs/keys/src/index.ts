export {
  ApiKeys,
  type AuthenticatedKey,
  type AuthFailure,
  type AuthResult,
  type CreateKeyInput,
  type CreatedKey,
  type FeeUsage,
  type KeyListing,
  type RevokedKey,
} from "./keys";
export { CachedAuthenticator, DEFAULT_AUTH_CACHE_TTL_MS, type CachedAuthenticatorOptions } from "./cache";
export { KeySecret } from "./secret";
export { ApiKeyInputError, UnknownApiKeyError, AmbiguousApiKeyError } from "./errors";
