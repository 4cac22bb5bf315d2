export { startSeller, createBuyer, allowClientHttpRpc, type Seller, type SellerOptions, type Buyer } from "./parties";
export { payOnce, friendbot, type PaidRequest } from "./pay";
export { blockNonLoopbackNetwork, ExternalNetworkBlocked, LOOPBACK, type NetworkBlock } from "./loopback";
