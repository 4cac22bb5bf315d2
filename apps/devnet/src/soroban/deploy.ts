import { Address, Asset, StrKey, xdr } from "@stellar/stellar-sdk";
import { sha256 } from "../sha256";
import { sacInstanceVal } from "./contracts/sac";
import { HostError } from "./errors";
import { Keys } from "./keys";
import type { HostRuntime } from "./runtime";

/** Contract ids exactly as the network derives them: sha256 of a `HashIdPreimage` contractId. */
export function contractIdFromPreimage(networkId: Buffer, preimage: xdr.ContractIdPreimage): string {
  const full = xdr.HashIdPreimage.envelopeTypeContractId(new xdr.HashIdPreimageContractId({ networkId, contractIdPreimage: preimage }));
  return StrKey.encodeContract(sha256(full.toXDR()));
}

/** The SAC address of a classic asset on a network (what `asset.contractId(passphrase)` gives). */
export function stellarAssetContractId(asset: Asset, networkPassphrase: string): string {
  return asset.contractId(networkPassphrase);
}

const WASM_MAGIC = Buffer.from([0x00, 0x61, 0x73, 0x6d]);

/** uploadContractWasm: stores the code under its sha256 (once) and returns the hash. */
export function uploadWasm(rt: HostRuntime, code: Buffer): xdr.ScVal {
  if (code.length < 8 || !code.subarray(0, 4).equals(WASM_MAGIC)) {
    throw HostError.host("WasmVm", "InvalidInput", "uploaded code is not a Wasm module");
  }
  const codeHash = sha256(code);
  const key = Keys.code(codeHash);
  if (!rt.storage.get(key)) {
    const entry = new xdr.LedgerEntry({
      lastModifiedLedgerSeq: rt.ledger.sequence,
      data: xdr.LedgerEntryData.contractCode(new xdr.ContractCodeEntry({ ext: new xdr.ContractCodeEntryExt(0), hash: codeHash, code })),
      ext: new xdr.LedgerEntryExt(0),
    });
    rt.storage.put(key, entry, rt.ledger.sequence + rt.ledger.minPersistentTtl - 1);
  }
  return xdr.ScVal.scvBytes(codeHash);
}

export interface CreateContractRequest {
  readonly preimage: xdr.ContractIdPreimage;
  readonly executable: xdr.ContractExecutable;
  readonly constructorArgs: xdr.ScVal[];
  /** What the deployer's auth entry must name: the host function's own args (V1 or V2). */
  readonly authorizedFunction: xdr.SorobanAuthorizedFunction;
}

/**
 * createContract / createContractV2: the deployer (address preimage) must authorize the creation,
 * the instance is written with the minimum persistent TTL, then the constructor runs inside the
 * creation frame so its auth nests under the deployer's entry.
 */
export function createContract(rt: HostRuntime, req: CreateContractRequest): xdr.ScVal {
  const contractId = contractIdFromPreimage(rt.ledger.networkId, req.preimage);
  rt.inCreateFrame((depth) => {
    const isAsset = req.executable.switch() === xdr.ContractExecutableType.contractExecutableStellarAsset();
    let asset: Asset | undefined;
    if (req.preimage.switch() === xdr.ContractIdPreimageType.contractIdPreimageFromAddress()) {
      if (isAsset) throw HostError.host("Value", "InvalidInput", "a Stellar Asset Contract can only be created from an asset");
      rt.requireAuthFromHost(Address.fromScAddress(req.preimage.fromAddress().address()).toString(), req.authorizedFunction, depth);
    } else {
      if (!isAsset) throw HostError.host("Value", "InvalidInput", "an asset preimage requires the Stellar Asset executable");
      asset = Asset.fromOperation(req.preimage.fromAsset());
    }
    const instanceKey = Keys.instance(contractId);
    if (rt.storage.get(instanceKey)) throw HostError.host("Storage", "ExistingValue", `contract ${contractId} already exists`);
    if (!isAsset && !rt.storage.get(Keys.code(req.executable.wasmHash()))) {
      throw HostError.host("Storage", "MissingValue", `Wasm ${req.executable.wasmHash().toString("hex")} does not exist`);
    }
    const val = asset
      ? sacInstanceVal(asset)
      : xdr.ScVal.scvContractInstance(new xdr.ScContractInstance({ executable: req.executable, storage: null }));
    rt.storage.put(instanceKey, instanceEntry(contractId, val, rt.ledger.sequence), rt.ledger.sequence + rt.ledger.minPersistentTtl - 1);
    if (!isAsset) rt.construct(contractId, req.constructorArgs);
    else if (req.constructorArgs.length > 0) throw HostError.host("Context", "InvalidAction", "the Stellar Asset Contract takes no constructor arguments");
  });
  return Address.fromString(contractId).toScVal();
}

export function instanceEntry(contractId: string, val: xdr.ScVal, ledgerSeq: number): xdr.LedgerEntry {
  return new xdr.LedgerEntry({
    lastModifiedLedgerSeq: ledgerSeq,
    data: xdr.LedgerEntryData.contractData(
      new xdr.ContractDataEntry({
        ext: new xdr.ExtensionPoint(0),
        contract: Address.fromString(contractId).toScAddress(),
        key: xdr.ScVal.scvLedgerKeyContractInstance(),
        durability: xdr.ContractDataDurability.persistent(),
        val,
      }),
    ),
    ext: new xdr.LedgerEntryExt(0),
  });
}
