import type { InvalidReason } from "./reasons";

/**
 * A payment that fails a check. Thrown by the checks and caught once, in verify, which turns it
 * into `{isValid:false}`; it never leaves the library. The message is for people: it may name
 * amounts, ledgers and public addresses, never a signature or a secret.
 */
export class Rejection extends Error {
  override readonly name = "Rejection";
  constructor(
    readonly reason: InvalidReason,
    message: string,
    /** The payer, once known; the library leaves it out for `facilitator_is_payer` and `fee_exceeds_maximum`. */
    readonly payer?: string,
  ) {
    super(message);
  }
}
