/**
 * Every reason an x402 verification can fail with. The strings are the wire contract: the ones
 * `@x402/stellar`'s facilitator uses are kept verbatim (clients and dashboards key on them), and the
 * few Quay adds follow OZ Channels' facilitator where it has one. The HTTP layer and the tests
 * import these; nothing spells a reason out by hand.
 */
export const InvalidReason = {
  // Protocol (same strings as @x402/stellar).
  invalidX402Version: "invalid_x402_version",
  unsupportedScheme: "unsupported_scheme",
  networkMismatch: "network_mismatch",
  invalidNetwork: "invalid_network",
  // Request shape (x402 spec §9 codes).
  invalidPayload: "invalid_payload",
  invalidPaymentRequirements: "invalid_payment_requirements",
  // Quay's configuration (OZ's strings).
  unsupportedNetwork: "unsupported_network",
  unsupportedAsset: "unsupported_asset",
  /** Quay only: a muxed (M…) payTo. A SAC transfer to it reports `{amount, to_muxed_id}` (CAP-67), which Quay does not settle. */
  unsupportedPayTo: "unsupported_pay_to",
  // The transaction (same strings as @x402/stellar, in its order).
  malformed: "invalid_exact_stellar_payload_malformed",
  wrongOperation: "invalid_exact_stellar_payload_wrong_operation",
  unsafeTxOrOpSource: "invalid_exact_stellar_payload_unsafe_tx_or_op_source",
  wrongAsset: "invalid_exact_stellar_payload_wrong_asset",
  wrongFunctionName: "invalid_exact_stellar_payload_wrong_function_name",
  facilitatorIsPayer: "invalid_exact_stellar_payload_facilitator_is_payer",
  wrongRecipient: "invalid_exact_stellar_payload_wrong_recipient",
  wrongAmount: "invalid_exact_stellar_payload_wrong_amount",
  /**
   * Quay only: the payer's auth entry authorises another call than the transaction makes (other
   * terms signed, or the call edited after signing). The library leaves it to the simulation.
   */
  authInvocationMismatch: "invalid_exact_stellar_payload_auth_invocation_mismatch",
  // Quay (OZ's strings): checked before the simulation, which they make pointless.
  hasEnvelopeSignatures: "invalid_exact_stellar_payload_has_envelope_signatures",
  authAlreadyExpired: "invalid_exact_stellar_payload_auth_already_expired",
  // Simulation and fees.
  simulationFailed: "invalid_exact_stellar_payload_simulation_failed",
  feeBelowMinimum: "invalid_exact_stellar_payload_fee_below_minimum",
  feeExceedsMaximum: "invalid_exact_stellar_payload_fee_exceeds_maximum",
  // Simulation events.
  eventNotTransfer: "invalid_exact_stellar_payload_event_not_transfer",
  eventMissingContractId: "invalid_exact_stellar_payload_event_missing_contract_id",
  eventWrongAsset: "invalid_exact_stellar_payload_event_wrong_asset",
  noTransferEvents: "invalid_exact_stellar_payload_no_transfer_events",
  multipleTransfers: "invalid_exact_stellar_payload_multiple_transfers",
  eventWrongFrom: "invalid_exact_stellar_payload_event_wrong_from",
  eventWrongTo: "invalid_exact_stellar_payload_event_wrong_to",
  eventWrongAmount: "invalid_exact_stellar_payload_event_wrong_amount",
  /** Quay only: the payment writes a ledger entry beyond the transfer's balances and the payer's own storage. */
  unexpectedWrites: "invalid_exact_stellar_payload_unexpected_writes",
  // Auth entries.
  noAuthEntries: "invalid_exact_stellar_payload_no_auth_entries",
  unsupportedCredentialType: "invalid_exact_stellar_payload_unsupported_credential_type",
  facilitatorInAuth: "invalid_exact_stellar_payload_facilitator_in_auth",
  signatureExpirationTooFar: "invalid_exact_stellar_signature_expiration_too_far",
  hasSubinvocations: "invalid_exact_stellar_payload_has_subinvocations",
  missingPayerSignature: "invalid_exact_stellar_payload_missing_payer_signature",
  unexpectedPendingSignatures: "invalid_exact_stellar_payload_unexpected_pending_signatures",
  /** Quay only: an auth entry beyond the payer's one (a second payer entry, or a signed entry for someone else). */
  unexpectedAuthEntries: "invalid_exact_stellar_payload_unexpected_auth_entries",
  // Quay only: the payment identity (network, payer, auth nonce) is already recorded.
  /** The same payment is already queued, settling, settled or failed at Quay: a replay or a second delivery. */
  duplicateSettlement: "duplicate_settlement",
  /** The payer's (network, nonce) names a payment Quay recorded with other terms (asset, recipient or amount). */
  nonceReused: "invalid_exact_stellar_payload_nonce_reused",
  // Anything else (the RPC down included; see `retryable`).
  unexpectedVerifyError: "unexpected_verify_error",
} as const;

export type InvalidReason = (typeof InvalidReason)[keyof typeof InvalidReason];

export const ALL_INVALID_REASONS: ReadonlySet<InvalidReason> = new Set(Object.values(InvalidReason));
