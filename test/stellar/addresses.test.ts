import { randomBytes } from "node:crypto";
import { Address, Keypair, StrKey, xdr } from "@stellar/stellar-sdk";
import { describe, expect, it } from "vitest";
import { strKeyOf, strKeyOfScVal } from "@quay/stellar";

describe("strKeyOf", () => {
  it("names accounts and contracts exactly as the SDK's Address does", () => {
    for (let i = 0; i < 20; i++) {
      const account = Keypair.random().publicKey();
      const contract = StrKey.encodeContract(randomBytes(32));
      for (const strkey of [account, contract]) {
        const sc = new Address(strkey).toScAddress();
        expect(strKeyOf(sc)).toBe(strkey);
        expect(strKeyOf(sc)).toBe(Address.fromScAddress(sc).toString());
        expect(strKeyOfScVal(xdr.ScVal.scvAddress(sc))).toBe(strkey);
      }
    }
  });

  it("refuses a value that is not an address, as the SDK does", () => {
    expect(() => strKeyOfScVal(xdr.ScVal.scvU32(7))).toThrow();
  });
});
