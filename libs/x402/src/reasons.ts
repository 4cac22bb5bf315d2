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
  // The transaction (same strings as @x402/stellar, in its order).
  malformed: "invalid_exact_stellar_payload_malformed",
  wrongOperation: "invalid_exact_stellar_payload_wrong_operation",
  unsafeTxOrOpSource: "invalid_exact_stellar_payload_unsafe_tx_or_op_source",
  wrongAsset: "invalid_exact_stellar_payload_wrong_asset",
  wrongFunctionName: "invalid_exact_stellar_payload_wrong_function_name",
  facilitatorIsPayer: "invalid_exact_stellar_payload_facilitator_is_payer",
  wrongRecipient: "invalid_exact_stellar_payload_wrong_recipient",
  wrongAmount: "invalid_exact_stellar_payload_wrong_amount",
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
  // Anything else (the RPC down included; see `retryable`).
  unexpectedVerifyError: "unexpected_verify_error",
} as const;

export type InvalidReason = (typeof InvalidReason)[keyof typeof InvalidReason];

export const ALL_INVALID_REASONS: ReadonlySet<InvalidReason> = new Set(Object.values(InvalidReason));
