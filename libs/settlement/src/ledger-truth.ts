import { Address, xdr } from "@stellar/stellar-sdk";
import type { StellarNetwork } from "@quay/stellar";
import type { Attempt, Submission } from "./records";

/**
 * What the ledger's current state says about a submission, when the RPC's history no longer can
 * (getTransaction keeps a retention window; a transaction older than it answers NOT_FOUND whether
 * it landed or not). Two facts outlive that history:
 *
 * - the payer's auth nonce: consuming the authorisation writes a temporary contract-data entry,
 *   keyed by the payer's address and the nonce, that lives until the authorisation's expiration
 *   ledger. While the ledger is at or before that expiration, its absence proves the nonce unspent;
 *   after it, the entry may be gone either way.
 * - the channel account's sequence number: a transaction from it that reached a ledger (success or
 *   failure) moved it to at least its own sequence; Quay alone signs for that account, and its
 *   attempts record the sequences they used.
 */
export const LedgerTruth = {
  /**
   * true: spent; false: provably unspent; undefined: the ledger can no longer tell (past the
   * expiration), or the submission carries no address authorisation to tell by.
   */
  async nonceSpent(network: StellarNetwork, submission: Pick<Submission, "payer" | "authNonce" | "signatureExpirationLedger">): Promise<boolean | undefined> {
    const { payer, authNonce, signatureExpirationLedger } = submission;
    if (payer === null || authNonce === null || signatureExpirationLedger === null) return undefined;
    const key = xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: new Address(payer).toScAddress(),
        key: xdr.ScVal.scvLedgerKeyNonce(new xdr.ScNonceKey({ nonce: xdr.Int64.fromString(authNonce) })),
        durability: xdr.ContractDataDurability.temporary(),
      }),
    );
    const entry = await network.ledgerEntry(key);
    if (entry) return true;
    return (await network.latestLedger({ maxAgeMs: 0 })) <= signatureExpirationLedger ? false : undefined;
  },

  /** Whether a transaction with the attempt's sequence number (or a later one) from its channel account reached a ledger. */
  async sequenceUsed(network: StellarNetwork, attempt: Pick<Attempt, "channelAccount" | "sequence">): Promise<boolean> {
    const account = await network.accountEntry(attempt.channelAccount);
    return account !== undefined && BigInt(account.seqNum().toString()) >= BigInt(attempt.sequence);
  },
};
