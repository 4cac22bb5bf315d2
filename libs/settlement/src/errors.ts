/** The base of the errors settlement hands its callers to act on; anything else is unexpected. */
export class SettlementError extends Error {}

/**
 * A budgeted API key cannot hold the most this submission may cost on top of what it has spent and
 * has reserved for submissions in flight: refused before anything is recorded or submitted.
 */
export class FeeBudgetExceeded extends SettlementError {
  override readonly name = "FeeBudgetExceeded";
  constructor(
    /** The most the submission may cost, in stroops. */
    readonly needed: bigint,
    /** What the key's budget has left, in stroops (never negative). */
    readonly left: bigint,
  ) {
    super(`this submission may cost up to ${needed} stroops in fees; the API key's budget has ${left} left`);
  }
}

/** `Intake.accept`'s link was refused: the caller's record holds another submission already. Nothing was recorded. */
export class LinkRefused extends SettlementError {
  override readonly name = "LinkRefused";
  constructor() {
    super("the record this submission was to be linked to holds another one");
  }
}
