import { Asset } from "@stellar/stellar-sdk";
import type { LedgerState } from "../state";
import { sacInstanceVal } from "./contracts/sac";
import { instanceEntry } from "./deploy";
import type { LedgerInfo } from "./host";
import { Keys } from "./keys";

export interface GenesisContracts {
  /** The native XLM SAC (C…). */
  readonly nativeSac: string;
  /** The USDC SAC (C…); on testnet's passphrase CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA. */
  readonly usdcSac: string;
  readonly usdc: Asset;
}

/**
 * Installs the SACs the devnet starts with, at the addresses the network derives for them. They
 * get the longest TTL allowed so they stay live for the devnet's whole run, as they do on testnet.
 */
export function installGenesisContracts(state: LedgerState, ledger: LedgerInfo, opts: { usdcIssuer: string }): GenesisContracts {
  const usdc = new Asset("USDC", opts.usdcIssuer);
  const install = (asset: Asset): string => {
    const contractId = asset.contractId(ledger.networkPassphrase);
    state.put(Keys.instance(contractId), instanceEntry(contractId, sacInstanceVal(asset), ledger.sequence), ledger.sequence + ledger.maxEntryTtl - 1);
    return contractId;
  };
  return { nativeSac: install(Asset.native()), usdcSac: install(usdc), usdc };
}
