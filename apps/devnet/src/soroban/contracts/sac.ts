import { Asset, xdr } from "@stellar/stellar-sdk";
import { StrKeys } from "../../strkeys";
import { HostError } from "../errors";
import { Keys } from "../keys";
import { ScVals } from "../scval";
import { arity, missingFunction } from "./dispatch";
import type { ContractEnv, NativeContract } from "../runtime";
import { AssetInfo } from "./asset-info";

/** The SAC's contract error codes (soroban-env-host `ContractError`). */
export const SacError = {
  InternalError: 1,
  OperationNotSupported: 2,
  Unauthorized: 4,
  AccountMissing: 6,
  NegativeAmount: 8,
  Balance: 10,
  BalanceDeauthorized: 11,
  Overflow: 12,
  TrustlineMissing: 13,
} as const;

const INT64_MAX = (1n << 63n) - 1n;
const I128_MAX = (1n << 127n) - 1n;
const TRUSTLINE_AUTHORIZED_FLAG = 1;
const DEFAULT_BASE_RESERVE = 5_000_000n;

/**
 * The Stellar Asset Contract, with the real token's rules: G holders keep their balance in their
 * AccountEntry (native) or TrustLineEntry (credit; no trustline, no balance), C holders in a
 * persistent `Vec[Symbol("Balance"), Address]` entry under the SAC; the issuer of a credit asset
 * mints when it sends and burns when it receives. Events have the current protocol's shape
 * (CAP-67): `transfer` topics [symbol, from, to, SEP-11 name], data i128.
 */
export const stellarAssetContract: NativeContract = {
  hasConstructor: false,
  invoke(env, fn, args) {
    const asset = AssetInfo.fromScVal(env.instanceGet(AssetInfo.ASSET_INFO_KEY));
    const name = AssetInfo.sep11Name(asset);
    switch (fn) {
      case "decimals":
        arity(fn, args, 0);
        return ScVals.u32(AssetInfo.DECIMALS);
      case "name":
        arity(fn, args, 0);
        return ScVals.string(name);
      case "symbol":
        arity(fn, args, 0);
        return ScVals.string(asset.isNative() ? "native" : asset.getCode());
      case "admin":
        arity(fn, args, 0);
        return adminOf(env, asset);
      case "balance": {
        arity(fn, args, 1);
        return ScVals.i128(Balances.read(env, asset, ScVals.toAddress(args[0], "id")));
      }
      case "transfer": {
        arity(fn, args, 3);
        const from = ScVals.toAddress(args[0], "from");
        const to = ScVals.toAddress(args[1], "to");
        const amount = nonNegative(ScVals.toI128(args[2], "amount"));
        env.requireAuth(from);
        Balances.spend(env, asset, from, amount);
        Balances.receive(env, asset, to, amount);
        env.emit([ScVals.symbol("transfer"), ScVals.address(from), ScVals.address(to), ScVals.string(name)], ScVals.i128(amount));
        return ScVals.unit();
      }
      case "mint": {
        arity(fn, args, 2);
        const to = ScVals.toAddress(args[0], "to");
        const amount = nonNegative(ScVals.toI128(args[1], "amount"));
        env.requireAuth(ScVals.toAddress(adminOf(env, asset), "admin"));
        Balances.receive(env, asset, to, amount);
        env.emit([ScVals.symbol("mint"), ScVals.address(to), ScVals.string(name)], ScVals.i128(amount));
        return ScVals.unit();
      }
      case "burn": {
        arity(fn, args, 2);
        const from = ScVals.toAddress(args[0], "from");
        const amount = nonNegative(ScVals.toI128(args[1], "amount"));
        env.requireAuth(from);
        Balances.spend(env, asset, from, amount);
        env.emit([ScVals.symbol("burn"), ScVals.address(from), ScVals.string(name)], ScVals.i128(amount));
        return ScVals.unit();
      }
      default:
        throw missingFunction(fn);
    }
  },
};

function nonNegative(amount: bigint): bigint {
  if (amount < 0n) throw HostError.contract(SacError.NegativeAmount, `negative amount is not allowed: ${amount}`);
  return amount;
}

function adminOf(env: ContractEnv, asset: Asset): xdr.ScVal {
  const admin = env.instanceGet(AssetInfo.ADMIN_KEY);
  if (!admin || asset.isNative()) throw HostError.contract(SacError.OperationNotSupported, "the native asset has no admin");
  return admin;
}

/** Token balances where the real SAC keeps them. */
namespace Balances {
  export function read(env: ContractEnv, asset: Asset, holder: string): bigint {
    if (StrKeys.isContract(holder)) {
      const entry = env.storage.get(contractBalanceKey(env, holder));
      return entry ? ScVals.toI128(ScVals.field(entry.data().contractData().val(), "amount"), "amount") : 0n;
    }
    if (asset.isNative()) {
      const account = loadAccount(env, holder);
      const spendable = account.balance().toBigInt() - minBalance(env, account) - sellingLiabilities(account.ext());
      return spendable > 0n ? spendable : 0n;
    }
    if (holder === asset.getIssuer()) return INT64_MAX;
    const line = loadTrustline(env, asset, holder);
    return line.balance().toBigInt();
  }

  export function spend(env: ContractEnv, asset: Asset, holder: string, amount: bigint): void {
    if (StrKeys.isContract(holder)) {
      const { amount: have, authorized } = readContractBalance(env, holder);
      if (!authorized) throw HostError.contract(SacError.BalanceDeauthorized, "balance is deauthorized");
      if (have < amount) throw HostError.contract(SacError.Balance, `balance is not sufficient to spend: ${have} < ${amount}`);
      writeContractBalance(env, holder, have - amount);
      return;
    }
    if (asset.isNative()) {
      const key = Keys.account(holder);
      const entry = cloneEntry(requireAccountEntry(env, holder));
      const account = entry.data().account();
      const after = account.balance().toBigInt() - amount;
      if (after < minBalance(env, account) + sellingLiabilities(account.ext())) {
        throw HostError.contract(SacError.Balance, `balance is not sufficient to spend: ${account.balance().toString()} - ${amount} is below the minimum balance`);
      }
      account.balance(xdr.Int64.fromString(after.toString()));
      env.storage.put(key, entry);
      return;
    }
    if (holder === asset.getIssuer()) return;
    const key = Keys.trustline(holder, asset);
    const entry = cloneEntry(requireTrustlineEntry(env, asset, holder));
    const line = entry.data().trustLine();
    if ((line.flags() & TRUSTLINE_AUTHORIZED_FLAG) === 0) throw HostError.contract(SacError.BalanceDeauthorized, "trustline is not authorized");
    const after = line.balance().toBigInt() - amount;
    const selling = line.ext().switch() === 1 ? line.ext().v1().liabilities().selling().toBigInt() : 0n;
    if (after < selling) throw HostError.contract(SacError.Balance, `balance is not sufficient to spend: ${line.balance().toString()} < ${amount}`);
    line.balance(xdr.Int64.fromString(after.toString()));
    env.storage.put(key, entry);
  }

  export function receive(env: ContractEnv, asset: Asset, holder: string, amount: bigint): void {
    if (StrKeys.isContract(holder)) {
      const { amount: have, authorized } = readContractBalance(env, holder);
      if (!authorized) throw HostError.contract(SacError.BalanceDeauthorized, "balance is deauthorized");
      if (have + amount > I128_MAX) throw HostError.contract(SacError.Overflow, "balance overflow");
      writeContractBalance(env, holder, have + amount);
      return;
    }
    if (asset.isNative()) {
      const key = Keys.account(holder);
      const entry = cloneEntry(requireAccountEntry(env, holder));
      const account = entry.data().account();
      const after = account.balance().toBigInt() + amount;
      if (after > INT64_MAX - buyingLiabilities(account.ext())) throw HostError.contract(SacError.Balance, "resulting balance is not within the allowed range");
      account.balance(xdr.Int64.fromString(after.toString()));
      env.storage.put(key, entry);
      return;
    }
    if (holder === asset.getIssuer()) return;
    const key = Keys.trustline(holder, asset);
    const entry = cloneEntry(requireTrustlineEntry(env, asset, holder));
    const line = entry.data().trustLine();
    if ((line.flags() & TRUSTLINE_AUTHORIZED_FLAG) === 0) throw HostError.contract(SacError.BalanceDeauthorized, "trustline is not authorized");
    const after = line.balance().toBigInt() + amount;
    const buying = line.ext().switch() === 1 ? line.ext().v1().liabilities().buying().toBigInt() : 0n;
    if (after > line.limit().toBigInt() - buying) throw HostError.contract(SacError.Balance, "resulting balance exceeds the trustline limit");
    line.balance(xdr.Int64.fromString(after.toString()));
    env.storage.put(key, entry);
  }

  function contractBalanceKey(env: ContractEnv, holder: string): xdr.LedgerKey {
    return Keys.contractData(env.self, ScVals.vec([ScVals.symbol("Balance"), ScVals.address(holder)]), xdr.ContractDataDurability.persistent());
  }

  function readContractBalance(env: ContractEnv, holder: string): { amount: bigint; authorized: boolean; clawback: boolean } {
    const entry = env.storage.get(contractBalanceKey(env, holder));
    if (!entry) return { amount: 0n, authorized: true, clawback: false };
    const val = entry.data().contractData().val();
    return {
      amount: ScVals.toI128(ScVals.field(val, "amount"), "amount"),
      authorized: ScVals.toBool(ScVals.field(val, "authorized"), "authorized"),
      clawback: ScVals.toBool(ScVals.field(val, "clawback"), "clawback"),
    };
  }

  function writeContractBalance(env: ContractEnv, holder: string, amount: bigint): void {
    const key = contractBalanceKey(env, holder);
    const existing = env.storage.getStored(key);
    const previous = readContractBalance(env, holder);
    const val = ScVals.struct({ amount: ScVals.i128(amount), authorized: ScVals.bool(previous.authorized), clawback: ScVals.bool(previous.clawback) });
    const d = key.contractData();
    const entry = new xdr.LedgerEntry({
      lastModifiedLedgerSeq: env.ledger.sequence,
      data: xdr.LedgerEntryData.contractData(
        new xdr.ContractDataEntry({ ext: new xdr.ExtensionPoint(0), contract: d.contract(), key: d.key(), durability: d.durability(), val }),
      ),
      ext: new xdr.LedgerEntryExt(0),
    });
    env.storage.put(key, entry, existing ? undefined : env.ledger.sequence + env.ledger.minPersistentTtl - 1);
  }

  function loadAccount(env: ContractEnv, holder: string): xdr.AccountEntry {
    return requireAccountEntry(env, holder).data().account();
  }

  function requireAccountEntry(env: ContractEnv, holder: string): xdr.LedgerEntry {
    const entry = env.storage.get(Keys.account(holder));
    if (!entry) throw HostError.contract(SacError.AccountMissing, `account ${holder} does not exist`);
    return entry;
  }

  function loadTrustline(env: ContractEnv, asset: Asset, holder: string): xdr.TrustLineEntry {
    return requireTrustlineEntry(env, asset, holder).data().trustLine();
  }

  function requireTrustlineEntry(env: ContractEnv, asset: Asset, holder: string): xdr.LedgerEntry {
    const entry = env.storage.get(Keys.trustline(holder, asset));
    if (!entry) throw HostError.contract(SacError.TrustlineMissing, `trustline entry is missing for account ${holder}`);
    return entry;
  }

  function minBalance(env: ContractEnv, account: xdr.AccountEntry): bigint {
    const ext = account.ext();
    let sponsoring = 0;
    let sponsored = 0;
    if (ext.switch() === 1 && ext.v1().ext().switch() === 2) {
      sponsoring = ext.v1().ext().v2().numSponsoring();
      sponsored = ext.v1().ext().v2().numSponsored();
    }
    const reserve = env.ledger.baseReserve ?? DEFAULT_BASE_RESERVE;
    return BigInt(2 + account.numSubEntries() + sponsoring - sponsored) * reserve;
  }

  function sellingLiabilities(ext: xdr.AccountEntryExt): bigint {
    return ext.switch() === 1 ? ext.v1().liabilities().selling().toBigInt() : 0n;
  }

  function buyingLiabilities(ext: xdr.AccountEntryExt): bigint {
    return ext.switch() === 1 ? ext.v1().liabilities().buying().toBigInt() : 0n;
  }

  function cloneEntry(entry: xdr.LedgerEntry): xdr.LedgerEntry {
    return xdr.LedgerEntry.fromXDR(entry.toXDR());
  }
}

/** Builds the instance entry of a SAC for `asset` (executable stellarAsset). */
export function sacInstanceVal(asset: Asset): xdr.ScVal {
  return xdr.ScVal.scvContractInstance(
    new xdr.ScContractInstance({ executable: xdr.ContractExecutable.contractExecutableStellarAsset(), storage: AssetInfo.instanceStorage(asset) }),
  );
}

