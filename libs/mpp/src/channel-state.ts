import { Account, Address, Contract, rpc, scValToBigInt, StrKey, TransactionBuilder, xdr } from "@stellar/stellar-sdk";
import type { Transaction } from "@stellar/stellar-sdk";
import { ALL_ZEROS, DEFAULT_FEE, DEFAULT_RPC_URL, Network, STELLAR_TESTNET } from "./constants.js";
import type { NetworkId } from "./constants.js";
import { StellarMppConfigError, StellarMppError } from "./errors.js";
import { Rpc } from "./rpc.js";

/**
 * A one-way channel as the ledger holds it. The contract keeps all its state in its instance
 * storage (`DataKey` unit variants, `Vec[Symbol(Name)]`): one getLedgerEntries reads it, and a
 * simulated `balance()` the token balance. What the contract pays at a close is `amount − withdrawn`,
 * out of `balance`: so a commitment can reach `deposited = balance + withdrawn`, not just `balance`.
 */

/** What the instance storage says (no balance: the token keeps it). */
export interface ChannelInstanceFields {
  /** Hex of the Wasm the instance runs. */
  readonly wasmHash: string;
  readonly token: string;
  /** The funder. */
  readonly from: string;
  /** The recipient. */
  readonly to: string;
  /** Hex of the 32-byte commitment key. */
  readonly commitmentKey: string;
  readonly refundWaitingPeriod: number;
  readonly withdrawn: bigint;
  /** The ledger a close (the funder's close_start, or a close) is or was effective at; null while open. */
  readonly closeEffectiveAtLedger: number | null;
}

/** `getChannelState`'s answer: @stellar/mpp's fields, plus what Quay reads besides (withdrawn, deposited, commitment key). */
export interface ChannelState extends ChannelInstanceFields {
  readonly channel: string;
  readonly balance: bigint;
  /** balance + withdrawn: the highest cumulative amount a commitment can be closed with. */
  readonly deposited: bigint;
  readonly currentLedger: number;
}

export interface GetChannelStateParameters {
  /** The channel contract (C…). */
  readonly channel: string;
  readonly network?: NetworkId;
  /** Default per network; http:// allowed (a local devnet). */
  readonly rpcUrl?: string;
  /** An rpc.Server to reuse instead of `rpcUrl`. */
  readonly server?: rpc.Server;
}

export const ChannelInstance = {
  /** The instance storage entry's key. */
  ledgerKey(channel: string): xdr.LedgerKey {
    return new Contract(channel).getFootprint();
  },

  /** Reads the fields from a contract instance; StellarMppError `not_a_channel` when one is missing or the contract is no Wasm. */
  fields(instance: xdr.ScContractInstance): ChannelInstanceFields {
    const executable = instance.executable();
    if (executable.switch() !== xdr.ContractExecutableType.contractExecutableWasm()) throw notAChannel("the contract is not a Wasm contract");
    const storage = new Map<string, xdr.ScVal>();
    for (const item of instance.storage() ?? []) {
      const name = dataKeyName(item.key());
      if (name) storage.set(name, item.val());
    }
    const need = (name: string): xdr.ScVal => {
      const value = storage.get(name);
      if (!value) throw notAChannel(`the contract has no ${name} in its storage`);
      return value;
    };
    const withdrawn = storage.get("WithdrawnAmount");
    const closeAt = storage.get("CloseEffectiveAtLedger");
    return {
      wasmHash: executable.wasmHash().toString("hex"),
      token: Address.fromScVal(need("Token")).toString(),
      from: Address.fromScVal(need("From")).toString(),
      to: Address.fromScVal(need("To")).toString(),
      commitmentKey: Buffer.from(need("CommitmentKey").bytes()).toString("hex"),
      refundWaitingPeriod: need("RefundWaitingPeriod").u32(),
      withdrawn: withdrawn ? scValToBigInt(withdrawn) : 0n,
      closeEffectiveAtLedger: closeAt ? closeAt.u32() : null,
    };
  },

  /** The read-only call whose simulation answers the channel's `balance()` (the token decides where it keeps balances). */
  balanceCall(channel: string, networkPassphrase: string): Transaction {
    return new TransactionBuilder(new Account(ALL_ZEROS, "0"), { fee: DEFAULT_FEE, networkPassphrase })
      .addOperation(new Contract(channel).call("balance"))
      .setTimeout(60)
      .build();
  },

  /** The balance a simulation of `balanceCall` answered; `not_a_channel` when it did not simulate. */
  balanceOf(sim: rpc.Api.SimulateTransactionResponse): bigint {
    if (!rpc.Api.isSimulationSuccess(sim) || !sim.result) throw notAChannel("the contract's balance() does not simulate");
    return scValToBigInt(sim.result.retval);
  },
} as const;

/** The channel's state read from the ledger (instance storage, balance, latest ledger). */
export async function getChannelState(parameters: GetChannelStateParameters): Promise<ChannelState> {
  const network = parameters.network ?? STELLAR_TESTNET;
  if (!Network.isId(network)) throw new StellarMppConfigError(`unknown network ${String(network)}`);
  if (!StrKey.isValidContract(parameters.channel)) throw new StellarMppConfigError("channel must be a C… contract address");
  const server = parameters.server ?? Rpc.server(parameters.rpcUrl ?? DEFAULT_RPC_URL[network]);
  const [answer, balance] = await Promise.all([
    Rpc.call("getLedgerEntries", () => server.getLedgerEntries(ChannelInstance.ledgerKey(parameters.channel))),
    Rpc.call("simulateTransaction", () => server.simulateTransaction(ChannelInstance.balanceCall(parameters.channel, Network.passphrase(network)))).then(ChannelInstance.balanceOf),
  ]);
  const entry = answer.entries[0];
  if (!entry) throw new StellarMppError("invalid_payment", "channel_not_on_ledger", "no live contract instance at the channel's address");
  const fields = ChannelInstance.fields(entry.val.contractData().val().instance());
  return { channel: parameters.channel, ...fields, balance, deposited: balance + fields.withdrawn, currentLedger: answer.latestLedger };
}

function notAChannel(message: string): StellarMppError {
  return new StellarMppError("invalid_payment", "not_a_channel", message);
}

/** `DataKey::Name` of a `#[contracttype]` unit variant: `Vec[Symbol(Name)]`. */
function dataKeyName(key: xdr.ScVal): string | undefined {
  if (key.switch() !== xdr.ScValType.scvVec()) return undefined;
  const [first, ...rest] = key.vec() ?? [];
  if (!first || rest.length > 0 || first.switch() !== xdr.ScValType.scvSymbol()) return undefined;
  return first.sym().toString();
}
