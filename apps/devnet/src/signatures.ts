import { xdr } from "@stellar/stellar-sdk";
import { verifyEd25519 } from "./ed25519";
import { StrKeys } from "./strkeys";

/**
 * Checks which accounts signed a transaction hash, tracking which signatures were used so that
 * extra signatures can be rejected (txBAD_AUTH_EXTRA) as the network does.
 * Only master keys are modelled: an account is authorized at a threshold when its master key
 * signed, its master weight is non-zero, and that weight reaches the threshold.
 */
export class SignatureChecker {
  private readonly used: boolean[];

  constructor(
    private readonly hash: Buffer,
    private readonly signatures: readonly xdr.DecoratedSignature[],
  ) {
    this.used = signatures.map(() => false);
  }

  checkAccount(accountId: string, masterWeight: number, threshold: number): boolean {
    if (masterWeight === 0 || masterWeight < threshold) return false;
    return this.signedBy(StrKeys.accountBytes(accountId));
  }

  /** PreconditionsV2.extraSigners: only ed25519 signer keys are modelled. */
  checkSignerKey(key: xdr.SignerKey): boolean {
    if (key.switch() !== xdr.SignerKeyType.signerKeyTypeEd25519()) return false;
    return this.signedBy(key.ed25519());
  }

  allUsed(): boolean {
    return this.used.every(Boolean);
  }

  private signedBy(publicKey: Buffer): boolean {
    const hint = publicKey.subarray(28);
    let found = false;
    this.signatures.forEach((sig, i) => {
      if (!sig.hint().equals(hint)) return;
      if (this.used[i]) {
        found = true;
        return;
      }
      if (verifyEd25519(publicKey, this.hash, sig.signature())) {
        this.used[i] = true;
        found = true;
      }
    });
    return found;
  }
}
