/** `@quay/mpp/channel`: the `stellar/channel` method definition and its schemas (as @stellar/mpp/channel), and the commitment. */
import { Methods } from "../methods.js";

export const channel = Methods.channel;
export { ChannelPayloadSchema, ChannelRequestSchema, type ChannelCredential, type ChannelPayload, type ChannelRequest } from "../methods.js";
export { Commitment, COMMITMENT_BYTES_LENGTH, type CommitmentInput, type CommitmentKey } from "../commitment.js";
export { CHANNEL_EVENT_NAMES, type ChannelEventName } from "../channel-events.js";
