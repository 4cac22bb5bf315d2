import { Address, authorizeInvocation, nativeToScVal, xdr } from "@stellar/stellar-sdk";
import type { Keypair } from "@stellar/stellar-sdk";

/**
 * The channel contract's `close(amount, sig)` call and the recipient's authorisation of exactly
 * that call (the contract requires `to`'s auth): what lets a relayer submit the close with its own
 * account while the recipient keeps its key.
 */
export const CloseAuth = {
  args(amount: bigint, signatureHex: string): xdr.ScVal[] {
    return [nativeToScVal(amount, { type: "i128" }), xdr.ScVal.scvBytes(Buffer.from(signatureHex, "hex"))];
  },

  invocation(channel: string, amount: bigint, signatureHex: string): xdr.SorobanAuthorizedInvocation {
    return new xdr.SorobanAuthorizedInvocation({
      function: xdr.SorobanAuthorizedFunction.sorobanAuthorizedFunctionTypeContractFn(
        new xdr.InvokeContractArgs({ contractAddress: Address.fromString(channel).toScAddress(), functionName: "close", args: CloseAuth.args(amount, signatureHex) }),
      ),
      subInvocations: [],
    });
  },

  /** The recipient's signed SorobanAuthorizationEntry for close(amount, sig) on `channel`, valid until `validUntilLedgerSeq`. */
  sign(input: { signer: Keypair; channel: string; amount: bigint; signatureHex: string; validUntilLedgerSeq: number; networkPassphrase: string }): Promise<xdr.SorobanAuthorizationEntry> {
    return authorizeInvocation({
      signer: input.signer,
      validUntilLedgerSeq: input.validUntilLedgerSeq,
      invocation: CloseAuth.invocation(input.channel, input.amount, input.signatureHex),
      networkPassphrase: input.networkPassphrase,
    });
  },
} as const;
