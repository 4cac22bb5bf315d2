import { Asset, xdr } from "@stellar/stellar-sdk";
import { namedKey, type LedgerState } from "./state";
import { StrKeys } from "./strkeys";

/**
 * Classic account and trustline entries as the network stores them (real XDR in LedgerState), so
 * the Soroban host's SAC reads the same balances the classic operations move.
 *
 * Stored XDR objects are shared between a state and its forks, so every reader here returns a
 * copy (but `peek`, for read-only checks) and every writer stores a fresh object: nothing is ever
 * mutated in place.
 */
export namespace Accounts {
  export const INT64_MAX = 9_223_372_036_854_775_807n;
  /** Trustline flag: the holder may send and receive the asset. */
  export const AUTHORIZED_FLAG = 1;

  export function key(accountId: string): xdr.LedgerKey {
    return namedKey(`account ${accountId}`, () => xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: StrKeys.accountId(accountId) })));
  }

  export function trustlineKey(accountId: string, asset: Asset): xdr.LedgerKey {
    return namedKey(`trustline ${accountId} ${asset.getCode()}:${asset.getIssuer()}`, () =>
      xdr.LedgerKey.trustline(
        new xdr.LedgerKeyTrustLine({
          accountId: StrKeys.accountId(accountId),
          asset: StrKeys.trustLineAsset(asset),
        }),
      ),
    );
  }

  export function load(state: LedgerState, accountId: string): xdr.AccountEntry | undefined {
    const stored = state.get(key(accountId));
    return stored ? clone(stored.entry).data().account() : undefined;
  }

  /**
   * The stored account itself, for read-only checks (validation looks at the same accounts on every
   * admission and ledger close, where a copy is waste). Never modify it: `load` gives a copy to change.
   */
  export function peek(state: LedgerState, accountId: string): xdr.AccountEntry | undefined {
    return state.get(key(accountId))?.entry.data().account();
  }

  export function loadTrustline(state: LedgerState, accountId: string, asset: Asset): xdr.TrustLineEntry | undefined {
    const stored = state.get(trustlineKey(accountId, asset));
    return stored ? clone(stored.entry).data().trustLine() : undefined;
  }

  export function store(state: LedgerState, account: xdr.AccountEntry, ledgerSeq: number): void {
    const id = StrKeys.encodeAccount(account.accountId().ed25519());
    state.put(key(id), entry(xdr.LedgerEntryData.account(account), ledgerSeq));
  }

  export function storeTrustline(state: LedgerState, line: xdr.TrustLineEntry, asset: Asset, ledgerSeq: number): void {
    const id = StrKeys.encodeAccount(line.accountId().ed25519());
    state.put(trustlineKey(id, asset), entry(xdr.LedgerEntryData.trustline(line), ledgerSeq));
  }

  export function removeTrustline(state: LedgerState, accountId: string, asset: Asset): void {
    state.delete(trustlineKey(accountId, asset));
  }

  /** A new account as createAccount makes it: sequence number = ledger << 32, master weight 1. */
  export function create(accountId: string, balance: bigint, ledgerSeq: number): xdr.AccountEntry {
    return new xdr.AccountEntry({
      accountId: StrKeys.accountId(accountId),
      balance: xdr.Int64.fromString(balance.toString()),
      seqNum: xdr.Int64.fromString((BigInt(ledgerSeq) << 32n).toString()),
      numSubEntries: 0,
      inflationDest: null,
      flags: 0,
      homeDomain: "",
      thresholds: Buffer.from([1, 0, 0, 0]),
      signers: [],
      ext: new xdr.AccountEntryExt(0),
    });
  }

  export function newTrustline(accountId: string, asset: Asset, limit: bigint, balance: bigint): xdr.TrustLineEntry {
    return new xdr.TrustLineEntry({
      accountId: StrKeys.accountId(accountId),
      asset: StrKeys.trustLineAsset(asset),
      balance: xdr.Int64.fromString(balance.toString()),
      limit: xdr.Int64.fromString(limit.toString()),
      flags: AUTHORIZED_FLAG,
      ext: new xdr.TrustLineEntryExt(0),
    });
  }

  export function balance(account: xdr.AccountEntry): bigint {
    return BigInt(account.balance().toString());
  }

  export function setBalance(account: xdr.AccountEntry, value: bigint): void {
    account.balance(xdr.Int64.fromString(value.toString()));
  }

  export function seqNum(account: xdr.AccountEntry): bigint {
    return BigInt(account.seqNum().toString());
  }

  export function setSeqNum(account: xdr.AccountEntry, value: bigint): void {
    account.seqNum(xdr.Int64.fromString(value.toString()));
  }

  /** (2 + subentries) base reserves; sponsorship is not modelled. */
  export function minBalance(account: xdr.AccountEntry, baseReserve: bigint): bigint {
    return (2n + BigInt(account.numSubEntries())) * baseReserve;
  }

  /** What the account may spend: balance above its reserve (no offers, so no selling liabilities). */
  export function available(account: xdr.AccountEntry, baseReserve: bigint): bigint {
    return balance(account) - minBalance(account, baseReserve);
  }

  /** thresholds = [master weight, low, medium, high]. */
  export function thresholds(account: xdr.AccountEntry): { master: number; low: number; medium: number; high: number } {
    const t = account.thresholds();
    return { master: t[0] ?? 0, low: t[1] ?? 0, medium: t[2] ?? 0, high: t[3] ?? 0 };
  }

  export function trustlineBalance(line: xdr.TrustLineEntry): bigint {
    return BigInt(line.balance().toString());
  }

  export function setTrustlineBalance(line: xdr.TrustLineEntry, value: bigint): void {
    line.balance(xdr.Int64.fromString(value.toString()));
  }

  export function trustlineLimit(line: xdr.TrustLineEntry): bigint {
    return BigInt(line.limit().toString());
  }

  export function entry(data: xdr.LedgerEntryData, ledgerSeq: number): xdr.LedgerEntry {
    return new xdr.LedgerEntry({ lastModifiedLedgerSeq: ledgerSeq, data, ext: new xdr.LedgerEntryExt(0) });
  }

  export function clone(e: xdr.LedgerEntry): xdr.LedgerEntry {
    return xdr.LedgerEntry.fromXDR(e.toXDR());
  }
}
