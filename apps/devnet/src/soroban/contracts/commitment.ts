import { ScVals } from "../scval";

/**
 * The bytes a channel funder signs: the XDR of the contract's `Commitment` struct, an ScMap sorted
 * by key — {amount: i128, channel: Address, domain: Symbol("chancmmt"), network: BytesN<32>} —
 * 192 bytes in all. `networkId` is sha256(network passphrase).
 */
export function commitmentBytes(networkId: Buffer, channel: string, amount: bigint): Buffer {
  return ScVals.struct({
    amount: ScVals.i128(amount),
    channel: ScVals.address(channel),
    domain: ScVals.symbol("chancmmt"),
    network: ScVals.bytes(networkId),
  }).toXDR();
}
