import type { MppErrorCode } from "@quay/mpp";

/** A channel request refused; `status` is the HTTP status the api answers with, `code` a stable token. */
export class ChannelError extends Error {
  override readonly name = "ChannelError";
  constructor(
    readonly status: 400 | 403 | 404 | 409 | 422 | 503,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** A charge refused, in mppx's relay vocabulary; `reason` names the precise check. Never carries a secret. */
export class ChargeRefusal extends Error {
  override readonly name = "ChargeRefusal";
  constructor(
    readonly code: MppErrorCode,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
