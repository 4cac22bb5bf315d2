/**
 * @quay/demo: the parties around Quay in a local run (the demo, the benchmark, tests), built from the
 * official x402 packages as real ones would be: a seller, a buyer, one paid request, the devnet's
 * friendbot, and the guard that keeps everything on loopback; and MPP's, built from mppx and
 * @quay/mpp as the MPP docs show: a charge server and its payer, a one-way channel opened on the
 * devnet, registered with Quay, paid by voucher through a channel server and closed by Quay.
 */
export { startSeller, createBuyer, allowClientHttpRpc, type Seller, type SellerOptions, type Buyer } from "./parties";
export { payOnce, friendbot, type PaidRequest } from "./pay";
export { blockNonLoopbackNetwork, ExternalNetworkBlocked, LOOPBACK, type NetworkBlock } from "./loopback";
export {
  ChannelDeploy,
  closeThroughQuay,
  humanAmount,
  openChannel,
  payMppCharge,
  payOverChannel,
  registerChannel,
  rpcServer,
  startMppChannelServer,
  startMppChargeServer,
  submitOperation,
  usdcBalance,
  xlmBalance,
  USDC_TESTNET,
  type ChannelClose,
  type ChannelTerms,
  type ChannelPayments,
  type DevnetAccess,
  type MppCharge,
  type MppChannelServerOptions,
  type MppChargeServerOptions,
  type MppServer,
  type Moved,
  type OpenChannelOptions,
  type OpenedChannel,
  type QuayAccess,
} from "./mpp";
