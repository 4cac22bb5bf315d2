/**
 * The devnet's Soroban host: native (TypeScript) implementations of the contracts this devnet runs,
 * judged with the network's rules for auth, footprints, resource fees and storage TTL.
 *
 * The pipeline calls `executeSorobanOp` for every invokeHostFunction / extendFootprintTtl /
 * restoreFootprint operation (simulation and apply), and `installGenesisContracts` once at genesis.
 */
export { executeSorobanOp } from "./execute";
export { installGenesisContracts, type GenesisContracts } from "./genesis";
export { CHANNEL_WASM, CHANNEL_WASM_HASH, ChannelError } from "./contracts/channel";
export { SacError } from "./contracts/sac";
export {
  ACCOUNT_CONTRACTS,
  DelegatingError,
  MultisigError,
  PasskeyError,
  SpendingPolicyError,
  type AccountContractKind,
} from "./contracts/accounts";
export { CRYPTO_INSTRUCTIONS } from "./crypto";
export { HostError } from "./errors";
export { commitmentBytes } from "./contracts/commitment";
export { stellarAssetContractId } from "./deploy";
export { RESOURCE_FEE_SCHEDULE } from "./fees";
export type {
  ExecuteSorobanOp,
  HostMode,
  LedgerInfo,
  SorobanOpInput,
  SorobanOpResult,
} from "./host";
