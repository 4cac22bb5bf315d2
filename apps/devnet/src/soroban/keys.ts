import { Asset, xdr } from "@stellar/stellar-sdk";
import { namedKey } from "../state";
import { StrKeys } from "../strkeys";

/** LedgerKey builders for every entry the host touches. */
export namespace Keys {
  export function contractData(contract: string, key: xdr.ScVal, durability: xdr.ContractDataDurability): xdr.LedgerKey {
    return xdr.LedgerKey.contractData(
      new xdr.LedgerKeyContractData({ contract: StrKeys.scAddress(contract), key, durability }),
    );
  }

  export function instance(contractId: string): xdr.LedgerKey {
    return namedKey(`host instance ${contractId}`, () =>
      contractData(contractId, xdr.ScVal.scvLedgerKeyContractInstance(), xdr.ContractDataDurability.persistent()),
    );
  }

  export function code(hash: Buffer): xdr.LedgerKey {
    return xdr.LedgerKey.contractCode(new xdr.LedgerKeyContractCode({ hash }));
  }

  export function account(accountId: string): xdr.LedgerKey {
    return namedKey(`host account ${accountId}`, () =>
      xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: StrKeys.scAddress(accountId).accountId() })),
    );
  }

  export function trustline(accountId: string, asset: Asset): xdr.LedgerKey {
    return namedKey(`host trustline ${accountId} ${asset.getCode()}:${asset.getIssuer()}`, () =>
      xdr.LedgerKey.trustline(
        new xdr.LedgerKeyTrustLine({
          accountId: StrKeys.scAddress(accountId).accountId(),
          asset: StrKeys.trustLineAsset(asset),
        }),
      ),
    );
  }

  /** The temporary entry that marks an auth nonce of `address` as used (CAP-46-11). */
  export function nonce(address: string, nonce: xdr.Int64): xdr.LedgerKey {
    return contractData(
      address,
      xdr.ScVal.scvLedgerKeyNonce(new xdr.ScNonceKey({ nonce })),
      xdr.ContractDataDurability.temporary(),
    );
  }

  /** Whether a key belongs to Soroban storage, and so carries a TTL. */
  export function isSoroban(key: xdr.LedgerKey): boolean {
    const t = key.switch();
    return t === xdr.LedgerEntryType.contractData() || t === xdr.LedgerEntryType.contractCode();
  }

  export function isPersistent(key: xdr.LedgerKey): boolean {
    if (key.switch() === xdr.LedgerEntryType.contractCode()) return true;
    return key.switch() === xdr.LedgerEntryType.contractData() && key.contractData().durability() === xdr.ContractDataDurability.persistent();
  }

  export function isTemporary(key: xdr.LedgerKey): boolean {
    return key.switch() === xdr.LedgerEntryType.contractData() && key.contractData().durability() === xdr.ContractDataDurability.temporary();
  }

  /** The LedgerKey of an entry (for the entry types the host stores). */
  export function ofEntry(entry: xdr.LedgerEntry): xdr.LedgerKey {
    const data = entry.data();
    switch (data.switch()) {
      case xdr.LedgerEntryType.contractData(): {
        const d = data.contractData();
        return xdr.LedgerKey.contractData(new xdr.LedgerKeyContractData({ contract: d.contract(), key: d.key(), durability: d.durability() }));
      }
      case xdr.LedgerEntryType.contractCode():
        return xdr.LedgerKey.contractCode(new xdr.LedgerKeyContractCode({ hash: data.contractCode().hash() }));
      case xdr.LedgerEntryType.account():
        return xdr.LedgerKey.account(new xdr.LedgerKeyAccount({ accountId: data.account().accountId() }));
      case xdr.LedgerEntryType.trustline():
        return xdr.LedgerKey.trustline(new xdr.LedgerKeyTrustLine({ accountId: data.trustLine().accountId(), asset: data.trustLine().asset() }));
      default:
        throw new Error(`unsupported ledger entry type ${data.switch().name}`);
    }
  }
}
