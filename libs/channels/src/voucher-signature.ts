import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { Commitment, type CommitmentInput } from "@quay/mpp";

/**
 * The relay's voucher signature check on Node's native ed25519 (OpenSSL). `Commitment.verify`
 * (@quay/mpp, shipped to MPP servers and clients alike) runs the SDK's pure-JS curve, several
 * times slower; on the relay's hot path that was a large share of a voucher's CPU.
 *
 * Same verdicts where they matter. OpenSSL's check is cofactorless and refuses non-canonical R and
 * S, so a signature it accepts satisfies the SDK's strict (cofactored) equation too. What it does
 * not refuse is a weak key (small order, non-canonical), which the SDK refuses: so the first time a
 * key's signature passes natively, the SDK checks it too, and a key the SDK refuses is checked by
 * the SDK from then on. The only signatures refused here and accepted by the SDK are crafted ones
 * with small-order components, which the contract's own strict check refuses at close as well.
 */

const SPKI_PREFIX = Buffer.from("302a300506032b6570032100", "hex");
const KEY_LIMIT = 4_096;

interface KnownKey {
  readonly key: KeyObject;
  /** The SDK accepted a signature this key's native check accepted: the two agree for this key. */
  agreed: boolean;
  /** The SDK refused a natively valid signature: a weak key, checked by the SDK only. */
  sdkOnly: boolean;
}

const keys = new Map<string, KnownKey>();

function known(commitmentKeyHex: string): KnownKey | undefined {
  let entry = keys.get(commitmentKeyHex);
  if (entry) return entry;
  try {
    entry = { key: createPublicKey({ key: Buffer.concat([SPKI_PREFIX, Buffer.from(commitmentKeyHex, "hex")]), format: "der", type: "spki" }), agreed: false, sdkOnly: false };
  } catch {
    return undefined;
  }
  if (keys.size >= KEY_LIMIT) keys.delete(keys.keys().next().value!);
  keys.set(commitmentKeyHex, entry);
  return entry;
}

export const VoucherSignature = {
  /** True when `signatureHex` is the commitment key's (64 hex) signature over `input`'s commitment bytes. */
  verify(commitmentKeyHex: string, input: CommitmentInput, signatureHex: string): boolean {
    if (!/^[0-9a-f]{64}$/i.test(commitmentKeyHex) || !/^[0-9a-f]{128}$/i.test(signatureHex)) return false;
    const entry = known(commitmentKeyHex.toLowerCase());
    if (!entry || entry.sdkOnly) return Commitment.verify(commitmentKeyHex, input, signatureHex);
    let message: Buffer;
    try {
      message = Commitment.bytes(input);
    } catch {
      return false;
    }
    let ok: boolean;
    try {
      ok = verify(null, message, entry.key, Buffer.from(signatureHex, "hex"));
    } catch {
      return false;
    }
    if (ok && !entry.agreed) {
      if (!Commitment.verify(commitmentKeyHex, input, signatureHex)) {
        entry.sdkOnly = true;
        return false;
      }
      entry.agreed = true;
    }
    return ok;
  },
} as const;
