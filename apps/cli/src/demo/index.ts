export { startSeller, createBuyer, allowClientHttpRpc, type Seller, type SellerOptions, type Buyer } from "./parties";
