/** One base unit of a 7-decimal token: each voucher raises its channel's cumulative by 1. */
export const VOUCHER_PRICE = "0.0000001";
/** What the charge route costs ("0.001" = 10 000 base units). */
export const CHARGE_PRICE = "0.001";
