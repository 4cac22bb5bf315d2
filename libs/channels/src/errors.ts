import type { MppErrorCode } from "@quay/mpp";

/** The one base class of the errors @quay/channels throws on purpose (each answered by the api with its own status). */
export class ChannelsError extends Error {
  override readonly name: string = "ChannelsError";
}

/** A channel request refused; `status` is the HTTP status the api answers with, `code` a stable token. */
export class ChannelError extends ChannelsError {
  override readonly name = "ChannelError";
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 422 | 503,
    readonly code: string,
    message: string,
    /** The precise cause when `code` is coarse (e.g. a failed close's submission reason). */
    readonly reason?: string,
  ) {
    super(message);
  }
}

/** A charge refused, in mppx's relay vocabulary; `reason` names the precise check. Never carries a secret. */
export class ChargeRefusal extends ChannelsError {
  override readonly name = "ChargeRefusal";
  constructor(
    readonly code: MppErrorCode,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
