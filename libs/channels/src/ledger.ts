import { Account, Address, Contract, Keypair, rpc, scValToBigInt, StrKey, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
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
    return new Contract(channel).getFootprint();
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
    const answer = await network.call("getLedgerEntries", () => network.rpc.getLedgerEntries(ChannelLedger.instanceKey(channel)));
    const entry = answer.entries[0];
    if (!entry) throw new ChannelError(404, "channel_not_on_ledger", "no live contract instance at this address");
    const instance = entry.val.contractData().val().instance();
    const executable = instance.executable();
    if (executable.switch() !== xdr.ContractExecutableType.contractExecutableWasm()) {
      throw new ChannelError(422, "not_a_channel", "the contract is not a Wasm contract");
    }
    const storage = new Map<string, xdr.ScVal>();
    for (const item of instance.storage() ?? []) {
      const name = dataKeyName(item.key());
      if (name) storage.set(name, item.val());
    }
    const need = (name: string): xdr.ScVal => {
      const value = storage.get(name);
      if (!value) throw new ChannelError(422, "not_a_channel", `the contract has no ${name} in its storage`);
      return value;
    };
    const closeAt = storage.get("CloseEffectiveAtLedger");
    const withdrawn = storage.get("WithdrawnAmount");
    const token = Address.fromScVal(need("Token")).toString();
    return {
      address: channel,
      wasmHash: executable.wasmHash().toString("hex"),
      token,
      funder: Address.fromScVal(need("From")).toString(),
      recipient: Address.fromScVal(need("To")).toString(),
      commitmentKey: Buffer.from(need("CommitmentKey").bytes()).toString("hex"),
      refundWaitingPeriod: need("RefundWaitingPeriod").u32(),
      withdrawn: withdrawn ? scValToBigInt(withdrawn) : 0n,
      balance: await ChannelLedger.balance(network, channel),
      closeEffectiveAtLedger: closeAt ? closeAt.u32() : null,
      latestLedger: answer.latestLedger,
    };
  },

  /** The channel's `balance()`, simulated (the token decides where it keeps balances). */
  async balance(network: StellarNetwork, channel: string): Promise<bigint> {
    const tx = new TransactionBuilder(new Account(Keypair.random().publicKey(), "0"), { fee: "100", networkPassphrase: network.passphrase })
      .addOperation(new Contract(channel).call("balance"))
      .setTimeout(60)
      .build();
    const sim = await network.call("simulateTransaction", () => network.rpc.simulateTransaction(tx));
    if (!rpc.Api.isSimulationSuccess(sim) || !sim.result) {
      throw new ChannelError(422, "not_a_channel", "the contract's balance() does not simulate");
    }
    return scValToBigInt(sim.result.retval);
  },

  /** The channel's instance, its Wasm code and its token balance entry, with their live-until ledgers. */
  async entries(network: StellarNetwork, channel: { address: string; wasmHash: string; token: string }): Promise<{ entries: ChannelEntry[]; latestLedger: number }> {
    const wanted: Array<Omit<ChannelEntry, "liveUntilLedger">> = [
      { kind: "instance", key: ChannelLedger.instanceKey(channel.address) },
      { kind: "code", key: ChannelLedger.codeKey(Buffer.from(channel.wasmHash, "hex")) },
      { kind: "balance", key: ChannelLedger.balanceKey(channel.token, channel.address) },
    ];
    const answer = await network.call("getLedgerEntries", () => network.rpc.getLedgerEntries(...wanted.map((w) => w.key)));
    const byKey = new Map(answer.entries.map((e) => [e.key.toXDR("base64"), e.liveUntilLedgerSeq ?? null]));
    return {
      latestLedger: answer.latestLedger,
      entries: wanted.map((w) => ({ ...w, liveUntilLedger: byKey.get(w.key.toXDR("base64")) ?? null })),
    };
  },
};

/** `DataKey::Name` of a `#[contracttype]` unit variant: `Vec[Symbol(Name)]`. */
function dataKeyName(key: xdr.ScVal): string | undefined {
  if (key.switch() !== xdr.ScValType.scvVec()) return undefined;
  const [first, ...rest] = key.vec() ?? [];
  if (!first || rest.length > 0 || first.switch() !== xdr.ScValType.scvSymbol()) return undefined;
  return first.sym().toString();
}
