import { Networks } from "@stellar/stellar-sdk";

/**
 * Wire constants shared with stellar/stellar-mpp-sdk: the CAIP-2 network ids a challenge names, the
 * placeholder source of a sponsored transaction, and the defaults the SDK uses, so that a Quay
 * server and an SDK client (or the reverse) agree without configuration.
 */

export const STELLAR_TESTNET = "stellar:testnet" as const;
export const STELLAR_PUBNET = "stellar:pubnet" as const;
export type NetworkId = typeof STELLAR_TESTNET | typeof STELLAR_PUBNET;

export const NETWORK_PASSPHRASE: Readonly<Record<NetworkId, string>> = {
  [STELLAR_TESTNET]: Networks.TESTNET,
  [STELLAR_PUBNET]: Networks.PUBLIC,
};

export const DEFAULT_RPC_URL: Readonly<Record<NetworkId, string>> = {
  [STELLAR_TESTNET]: "https://soroban-testnet.stellar.org",
  [STELLAR_PUBNET]: "https://soroban-rpc.mainnet.stellar.gateway.fm",
};

/** The all-zeros account a sponsored client uses as source: the server swaps in its own. */
export const ALL_ZEROS = "GAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAWHF";

export const METHOD_NAME = "stellar" as const;
export const DEFAULT_DECIMALS = 7;
export const DEFAULT_FEE = "100";
export const DEFAULT_TIMEOUT_SECONDS = 180;
export const DEFAULT_LEDGER_CLOSE_SECONDS = 5;
export const DEFAULT_MAX_XDR_LENGTH = 8192;
export const DEFAULT_MAX_FEE_BUMP_STROOPS = 10_000_000;
/** How long a server waits for its transaction's outcome, and how long its own transactions live (their maxTime). */
export const DEFAULT_POLL_TIMEOUT_MS = 30_000;
export const COMMITMENT_DOMAIN = "chancmmt";

export const Network = {
  isId(value: unknown): value is NetworkId {
    return value === STELLAR_TESTNET || value === STELLAR_PUBNET;
  },
  passphrase(id: NetworkId): string {
    return NETWORK_PASSPHRASE[id];
  },
  /** The CAIP-2 id of a passphrase, or undefined for a network the MPP method has no id for. */
  idOf(passphrase: string): NetworkId | undefined {
    if (passphrase === Networks.TESTNET) return STELLAR_TESTNET;
    if (passphrase === Networks.PUBLIC) return STELLAR_PUBNET;
    return undefined;
  },
} as const;

/** Token contracts the MPP docs name (SAC addresses of USDC and native XLM), as @stellar/mpp exports them. */
export const USDC_SAC_TESTNET = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";
export const USDC_SAC_MAINNET = "CCW67TSZV3SSS2HXMBQ5JFGCKJNXKZM7UQUWUZPUTHXSTZLEO7SJMI75";
export const XLM_SAC_TESTNET = "CDLZFC3SYJYDZT7K67VZ75HPJVIEUVNIXF47ZG2FB2RMQQVU2HHGCYSC";
export const XLM_SAC_MAINNET = "CAS3J7GYLGXMF6TDJBBYYSE3HQ6BBSMLNUQ34T6TZMYMW2EVH34XOWMA";
