import { Address, StrKey, xdr } from "@stellar/stellar-sdk";
import { ChannelInstance, StellarMppError } from "@quay/mpp";
import type { StellarNetwork } from "@quay/stellar";
import { ChannelError } from "./errors";

/**
 * What Quay reads of a one-way channel from the ledger, with no transaction: the contract
 * instance entry (its Wasm hash and instance storage, where the contract keeps all its state),
 * the token balance, and the live-until ledger of every entry the channel needs to stay usable.
 */

export interface ChannelOnChain {
  readonly address: string;
  /** Hex of the Wasm the instance runs. */
  readonly wasmHash: string;
  readonly token: string;
  readonly funder: string;
  readonly recipient: string;
  /** Hex of the 32-byte commitment key. */
  readonly commitmentKey: string;
  readonly refundWaitingPeriod: number;
  readonly withdrawn: bigint;
  readonly balance: bigint;
  readonly closeEffectiveAtLedger: number | null;
  readonly latestLedger: number;
}

/** An entry the channel depends on, and how long it lives. */
export interface ChannelEntry {
  readonly kind: "instance" | "code" | "balance";
  readonly key: xdr.LedgerKey;
  /** null: the RPC does not return it (archived, or never written). */
  readonly liveUntilLedger: number | null;
}

export const ChannelLedger = {
  instanceKey(channel: string): xdr.LedgerKey {
    return ChannelInstance.ledgerKey(channel);
  },

  codeKey(wasmHash: Buffer): xdr.LedgerKey {
    return xdr.LedgerKey.contractCode(new xdr.LedgerKeyContractCode({ hash: wasmHash }));
  },

  /** The token's persistent `Balance(channel)` entry (the SAC layout). */
  balanceKey(token: string, channel: string): xdr.LedgerKey {
    return xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({
        contract: Address.fromString(token).toScAddress(),
        key: xdr.ScVal.scvVec([xdr.ScVal.scvSymbol("Balance"), Address.fromString(channel).toScVal()]),
        durability: xdr.ContractDataDurability.persistent(),
      }),
    );
  },

  /** Reads the channel from its instance storage and its balance; ChannelError when it is not a channel. */
  async read(network: StellarNetwork, channel: string): Promise<ChannelOnChain> {
    if (!StrKey.isValidContract(channel)) throw new ChannelError(400, "invalid_channel", "address must be a C… contract address");
    const answer = await network.getLedgerEntries(ChannelLedger.instanceKey(channel));
    const entry = answer.entries[0];
    if (!entry) throw new ChannelError(404, "channel_not_on_ledger", "no live contract instance at this address");
    const fields = notAChannel(() => ChannelInstance.fields(entry.val.contractData().val().instance()));
    return {
      address: channel,
      wasmHash: fields.wasmHash,
      token: fields.token,
      funder: fields.from,
      recipient: fields.to,
      commitmentKey: fields.commitmentKey,
      refundWaitingPeriod: fields.refundWaitingPeriod,
      withdrawn: fields.withdrawn,
      balance: await ChannelLedger.balance(network, channel),
      closeEffectiveAtLedger: fields.closeEffectiveAtLedger,
      latestLedger: answer.latestLedger,
    };
  },

  /** The channel's `balance()`, simulated (the token decides where it keeps balances). */
  async balance(network: StellarNetwork, channel: string): Promise<bigint> {
    const sim = await network.simulate(ChannelInstance.balanceCall(channel, network.passphrase));
    return notAChannel(() => ChannelInstance.balanceOf(sim));
  },

  /** The channel's instance, its Wasm code and its token balance entry, with their live-until ledgers. */
  async entries(network: StellarNetwork, channel: { address: string; wasmHash: string; token: string }): Promise<{ entries: ChannelEntry[]; latestLedger: number }> {
    const wanted: Array<Omit<ChannelEntry, "liveUntilLedger">> = [
      { kind: "instance", key: ChannelLedger.instanceKey(channel.address) },
      { kind: "code", key: ChannelLedger.codeKey(Buffer.from(channel.wasmHash, "hex")) },
      { kind: "balance", key: ChannelLedger.balanceKey(channel.token, channel.address) },
    ];
    const answer = await network.getLedgerEntries(...wanted.map((w) => w.key));
    const byKey = new Map(answer.entries.map((e) => [e.key.toXDR("base64"), e.liveUntilLedgerSeq ?? null]));
    return {
      latestLedger: answer.latestLedger,
      entries: wanted.map((w) => ({ ...w, liveUntilLedger: byKey.get(w.key.toXDR("base64")) ?? null })),
    };
  },
};

/** The contract's own refusal (`not_a_channel`) as the api's 422. */
function notAChannel<T>(read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (error instanceof StellarMppError && error.reason === "not_a_channel") throw new ChannelError(422, "not_a_channel", error.message);
    throw error;
  }
}
