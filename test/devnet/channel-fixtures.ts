/**
 * The one-way channel contract on the devnet, as the MPP and devnet tests deploy it: a funder
 * with USDC, a recipient with a trustline, a fresh commitment key, and the contract constructed
 * with a deposit (through @quay/demo's ChannelDeploy, as the demo and the benchmark deploy it).
 */
import { Keypair, rpc, xdr } from "@stellar/stellar-sdk";
import { ChannelDeploy, submitOperation } from "@quay/demo";
import { fundedKeypair, USDC, type TestDevnet } from "./helpers";

/** 1 XLM or 1 USDC in base units (7 decimals). */
export const UNIT = 10_000_000n;

/** Prepares (simulate + assemble), signs with `signer`, submits and waits; throws unless it succeeded. */
export function send(t: TestDevnet, signer: Keypair, op: xdr.Operation): Promise<rpc.Api.GetSuccessfulTransactionResponse> {
  return submitOperation(t.server, t.passphrase, signer, op);
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
  await send(t, funder, ChannelDeploy.upload());
  const created = await send(
    t,
    funder,
    ChannelDeploy.create({
      token: USDC.contractId(t.passphrase),
      funder: funder.publicKey(),
      commitmentKey: commitmentKey.rawPublicKey(),
      recipient: recipient.publicKey(),
      deposit,
      refundWaitingPeriod: waitingPeriod,
      salt: Buffer.from(`mpp-channel-${salt}`),
    }),
  );
  return { channel: ChannelDeploy.addressOf(created), funder, recipient, commitmentKey, openedLedger: created.ledger };
}
