/**
 * The one-way channel contract on the devnet, as the MPP and devnet tests deploy it: a funder
 * with USDC, a recipient with a trustline, a fresh commitment key, and the contract constructed
 * with a deposit.
 */
import { Address, hash, Keypair, nativeToScVal, Operation, rpc, xdr } from "@stellar/stellar-sdk";
import { CHANNEL_WASM, CHANNEL_WASM_HASH } from "../../apps/devnet/src/soroban";
import { builderFor, fundedKeypair, submitAndWait, USDC, type TestDevnet } from "./helpers";

/** 1 XLM or 1 USDC in base units (7 decimals). */
export const UNIT = 10_000_000n;

/** Prepares (simulate + assemble), signs with `signer`, submits and waits; throws unless it succeeded. */
export async function send(t: TestDevnet, signer: Keypair, op: xdr.Operation): Promise<rpc.Api.GetSuccessfulTransactionResponse> {
  const tx = await t.server.prepareTransaction((await builderFor(t, signer.publicKey())).addOperation(op).setTimeout(60).build());
  tx.sign(signer);
  const outcome = await submitAndWait(t.server, tx);
  if (outcome.status !== rpc.Api.GetTransactionStatus.SUCCESS) throw new Error(`transaction ${outcome.status}`);
  return outcome;
}

export interface OpenedChannel {
  channel: string;
  funder: Keypair;
  recipient: Keypair;
  commitmentKey: Keypair;
  /** The ledger the contract was created in. */
  openedLedger: number;
}

/** Deploys the channel contract with `deposit`; `waitingPeriod` is the funder's refund wait in ledgers. */
export async function openChannel(t: TestDevnet, deposit: bigint, salt: string | number, waitingPeriod = 10): Promise<OpenedChannel> {
  const funder = await fundedKeypair(t.devnet, { usdc: 100n * UNIT });
  const recipient = await fundedKeypair(t.devnet, { usdc: 1n });
  const commitmentKey = Keypair.random();
  await send(t, funder, Operation.uploadContractWasm({ wasm: CHANNEL_WASM }));
  const outcome = await send(
    t,
    funder,
    Operation.createCustomContract({
      address: Address.fromString(funder.publicKey()),
      wasmHash: CHANNEL_WASM_HASH,
      salt: hash(Buffer.from(`mpp-channel-${salt}`)),
      constructorArgs: [
        Address.fromString(USDC.contractId(t.passphrase)).toScVal(),
        Address.fromString(funder.publicKey()).toScVal(),
        xdr.ScVal.scvBytes(commitmentKey.rawPublicKey()),
        Address.fromString(recipient.publicKey()).toScVal(),
        nativeToScVal(deposit, { type: "i128" }),
        xdr.ScVal.scvU32(waitingPeriod),
      ],
    }),
  );
  if (!outcome.returnValue) throw new Error("createCustomContract returned nothing");
  return { channel: Address.fromScVal(outcome.returnValue).toString(), funder, recipient, commitmentKey, openedLedger: outcome.ledger };
}
