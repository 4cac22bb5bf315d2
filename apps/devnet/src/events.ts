import { Asset, nativeToScVal, xdr } from "@stellar/stellar-sdk";
import { BoundedCache } from "./bounded-cache";
import { StrKeys } from "./strkeys";

/**
 * CAP-67 (protocol 23) events for classic activity: payments and account creation emit the asset's
 * Stellar Asset Contract transfer/mint/burn events, and fee charges emit a `fee` transaction event,
 * so watchers see classic and Soroban movements the same way.
 */
export namespace ClassicEvents {
  export function transfer(asset: Asset, from: string, to: string, amount: bigint, passphrase: string): xdr.ContractEvent {
    const sym = xdr.ScVal.scvSymbol;
    if (!asset.isNative() && from === asset.getIssuer()) {
      return event(asset, passphrase, [sym("mint"), addr(to), assetName(asset)], amount);
    }
    if (!asset.isNative() && to === asset.getIssuer()) {
      return event(asset, passphrase, [sym("burn"), addr(from), assetName(asset)], amount);
    }
    return event(asset, passphrase, [sym("transfer"), addr(from), addr(to), assetName(asset)], amount);
  }

  /** The fee charged to `feeSource` (negative amounts are refunds). */
  export function fee(feeSource: string, amount: bigint, passphrase: string, stage: "before" | "after"): xdr.TransactionEvent {
    return new xdr.TransactionEvent({
      stage:
        stage === "before"
          ? xdr.TransactionEventStage.transactionEventStageBeforeAllTxes()
          : xdr.TransactionEventStage.transactionEventStageAfterAllTxes(),
      event: event(Asset.native(), passphrase, [xdr.ScVal.scvSymbol("fee"), addr(feeSource)], amount),
    });
  }

  function event(asset: Asset, passphrase: string, topics: xdr.ScVal[], amount: bigint): xdr.ContractEvent {
    return new xdr.ContractEvent({
      ext: new xdr.ExtensionPoint(0),
      // The typings declare ContractId as Opaque[]; at runtime it is the 32-byte Buffer.
      contractId: sacId(asset, passphrase) as unknown as xdr.ContractId,
      type: xdr.ContractEventType.contract(),
      body: new xdr.ContractEventBody(0, new xdr.ContractEventV0({ topics, data: nativeToScVal(amount, { type: "i128" }) })),
    });
  }

  const addr = (account: string): xdr.ScVal => StrKeys.scVal(account);

  /** SAC ids by network and asset: deriving one takes two hashes and a strkey round trip, for every fee event. */
  const sacIds = new BoundedCache<string, Buffer>(1_024);

  /** `StrKey.decodeContract(asset.contractId(passphrase))` */
  function sacId(asset: Asset, passphrase: string): Buffer {
    const id = `${passphrase}\n${asset.isNative() ? "native" : `${asset.getCode()}:${asset.getIssuer()}`}`;
    let raw = sacIds.get(id);
    if (!raw) {
      raw = StrKeys.contractBytes(asset.contractId(passphrase));
      sacIds.set(id, raw);
    }
    return Buffer.from(raw);
  }

  /** SEP-11 asset string, as the SAC names assets in its events. */
  function assetName(asset: Asset): xdr.ScVal {
    return xdr.ScVal.scvString(asset.isNative() ? "native" : `${asset.getCode()}:${asset.getIssuer()}`);
  }
}
