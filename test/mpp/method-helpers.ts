/**
 * Shared by test/mpp/method*.test.ts: a channel deployed on the devnet (as test/devnet/channel-rpc
 * does), an express app on loopback, and readers for 402 problem bodies and receipts.
 */
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Address, hash, Keypair, nativeToScVal, Operation, rpc, xdr } from "@stellar/stellar-sdk";
import express from "express";
import type { Express } from "express";
import { Challenge, Receipt } from "mppx";
import { CHANNEL_WASM, CHANNEL_WASM_HASH } from "../../apps/devnet/src/soroban";
import { builderFor, fundedKeypair, submitAndWait, USDC } from "../devnet/helpers";
import type { TestDevnet } from "../devnet/helpers";

export const UNIT = 10_000_000n;

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
}

/** Deploys the channel contract with `deposit`; `waitingPeriod` is the funder's refund wait in ledgers. */
export async function openChannel(t: TestDevnet, deposit: bigint, salt: string, waitingPeriod = 10): Promise<OpenedChannel> {
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
  return { channel: Address.fromScVal(outcome.returnValue).toString(), funder, recipient, commitmentKey };
}

export interface Listening {
  readonly url: string;
  close(): Promise<void>;
}

export async function listen(app: Express | ((req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => void)): Promise<Listening> {
  const { createServer } = await import("node:http");
  const server: Server = createServer(app as Parameters<typeof createServer>[1]);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

export function newApp(): Express {
  return express();
}

/** The problem+json body of a 402 and the fresh challenge it carries. */
export async function refusal(response: Response): Promise<{ status: number; type: string; code?: string; reason?: string; detail?: string }> {
  const body = (await response.json()) as { type: string; detail?: string; details?: { code?: string; reason?: string } };
  return {
    status: response.status,
    type: body.type.replace("https://paymentauth.org/problems/", ""),
    ...(body.details?.code !== undefined ? { code: body.details.code } : {}),
    ...(body.details?.reason !== undefined ? { reason: body.details.reason } : {}),
    ...(body.detail !== undefined ? { detail: body.detail } : {}),
  };
}

export async function challengeOf(url: string): Promise<Challenge.Challenge> {
  const res = await fetch(url);
  if (res.status !== 402) throw new Error(`expected 402, got ${res.status}`);
  return Challenge.fromResponse(res);
}

export function receiptOf(response: Response): Receipt.Receipt {
  return Receipt.fromResponse(response);
}
