import { Method, z } from "mppx";
import type { Challenge, Credential } from "mppx";
import { DEFAULT_MAX_XDR_LENGTH, METHOD_NAME } from "./constants.js";

/**
 * The `stellar/charge` and `stellar/channel` method definitions: challenge `request` and
 * credential `payload` schemas field for field as stellar/stellar-mpp-sdk 0.7 declares them, so a
 * credential built by either side parses on the other.
 */

const HEX_64 = /^[0-9a-f]{64}$/i;
const HEX_128 = /^[0-9a-f]{128}$/i;

export const ChargePayloadSchema = z.discriminatedUnion("type", [
  /** Push: the payer broadcast the transfer itself and proves control of `from` over "{challenge.id}:{hash}". */
  z.object({
    hash: z.string().check(z.regex(HEX_64)),
    sourceSignature: z.string().check(z.regex(HEX_128)),
    type: z.literal("signedHash"),
  }),
  /** Legacy unsigned push: receive-only, refused unless a server opts in. */
  z.object({
    hash: z.string().check(z.regex(HEX_64)),
    type: z.literal("hash"),
  }),
  /** Pull: a base64 TransactionEnvelope the server broadcasts. */
  z.object({
    transaction: z.string().check(z.maxLength(DEFAULT_MAX_XDR_LENGTH)),
    type: z.literal("transaction"),
  }),
]);

export const ChargeRequestSchema = z.object({
  /** Base units of the token (7 decimals for SACs). */
  amount: z.string(),
  /** SEP-41 token contract (C…). */
  currency: z.string(),
  /** G… account or C… contract. */
  recipient: z.string(),
  description: z.optional(z.string()),
  externalId: z.optional(z.string()),
  methodDetails: z.optional(
    z.object({
      /** CAIP-2: "stellar:testnet" | "stellar:pubnet". */
      network: z.string(),
      /** true: the server sponsors (client uses the ALL_ZEROS source and signs auth entries only). */
      feePayer: z.optional(z.boolean()),
      /** Payload types the server accepts, in order of preference. */
      credentialTypes: z.optional(z.array(z.string())),
      /** Server-generated nonce: two challenges for the same terms are never the same challenge. */
      reference: z.optional(z.string()),
    }),
  ),
});

const commitmentPayload = <action extends "voucher" | "close">(action: action) =>
  z.object({
    action: z.literal(action),
    /** The new cumulative amount (base units). */
    amount: z.string().check(z.regex(/^\d+$/)),
    /** ed25519 signature over the commitment bytes, hex. */
    signature: z.string().check(z.regex(HEX_128)),
  });

export const ChannelPayloadSchema = z.union([commitmentPayload("voucher"), commitmentPayload("close")]);

export const ChannelRequestSchema = z.object({
  /** Price of this request (base units): the increment, not the cumulative. */
  amount: z.string(),
  /** The channel contract (C…). */
  channel: z.string(),
  description: z.optional(z.string()),
  externalId: z.optional(z.string()),
  methodDetails: z.optional(
    z.object({
      /** Server-generated tracking id; the voucher receipt's reference. */
      reference: z.optional(z.string()),
      network: z.optional(z.string()),
      /** The cumulative the server has accepted so far (base units). */
      cumulativeAmount: z.optional(z.string()),
    }),
  ),
});

export const Methods = {
  charge: Method.from({
    name: METHOD_NAME,
    intent: "charge",
    schema: { credential: { payload: ChargePayloadSchema }, request: ChargeRequestSchema },
  }),
  channel: Method.from({
    name: METHOD_NAME,
    intent: "channel",
    schema: { credential: { payload: ChannelPayloadSchema }, request: ChannelRequestSchema },
  }),
} as const;

export type ChargeRequest = z.output<typeof ChargeRequestSchema>;
export type ChargePayload = z.output<typeof ChargePayloadSchema>;
export type ChannelRequest = z.output<typeof ChannelRequestSchema>;
export type ChannelPayload = z.output<typeof ChannelPayloadSchema>;
export type ChargeCredential = Credential.Credential<ChargePayload, Challenge.Challenge<ChargeRequest, "charge", "stellar">>;
export type ChannelCredential = Credential.Credential<ChannelPayload, Challenge.Challenge<ChannelRequest, "channel", "stellar">>;
