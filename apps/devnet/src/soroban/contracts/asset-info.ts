import { Asset, xdr } from "@stellar/stellar-sdk";
import { BoundedCache } from "../../bounded-cache";
import { StrKeys } from "../../strkeys";
import { HostError } from "../errors";
import { ScVals } from "../scval";

/**
 * How the Stellar Asset Contract keeps its asset in instance storage, as the real SAC does:
 * `Vec[Symbol("AssetInfo")]` → `Vec[Symbol("Native")]` or `Vec[Symbol("AlphaNum4"|"AlphaNum12"),
 * {asset_code: String (NUL-padded), issuer: Bytes(32)}]`, `Symbol("METADATA")` → {decimal, name,
 * symbol}, and `Vec[Symbol("Admin")]` → the issuer for credit assets.
 */
export namespace AssetInfo {
  export const ASSET_INFO_KEY = ScVals.enumKey("AssetInfo");
  export const ADMIN_KEY = ScVals.enumKey("Admin");
  export const METADATA_KEY = ScVals.symbol("METADATA");
  export const DECIMALS = 7;

  /** The SEP-11 name the SAC reports and puts in its event topics: `native` or `CODE:ISSUER`. */
  export function sep11Name(asset: Asset): string {
    return asset.isNative() ? "native" : `${asset.getCode()}:${asset.getIssuer()}`;
  }

  export function instanceStorage(asset: Asset): xdr.ScMapEntry[] {
    const entries: Array<readonly [xdr.ScVal, xdr.ScVal]> = [
      [METADATA_KEY, ScVals.struct({ decimal: ScVals.u32(DECIMALS), name: ScVals.string(sep11Name(asset)), symbol: ScVals.string(asset.isNative() ? "native" : asset.getCode()) })],
      [ASSET_INFO_KEY, toScVal(asset)],
    ];
    if (!asset.isNative()) entries.push([ADMIN_KEY, ScVals.address(asset.getIssuer()!)]);
    return ScVals.map(entries).map() ?? [];
  }

  export function toScVal(asset: Asset): xdr.ScVal {
    if (asset.isNative()) return ScVals.vec([ScVals.symbol("Native")]);
    const width = asset.getAssetType() === "credit_alphanum4" ? 4 : 12;
    return ScVals.vec([
      ScVals.symbol(width === 4 ? "AlphaNum4" : "AlphaNum12"),
      ScVals.struct({
        asset_code: ScVals.string(asset.getCode().padEnd(width, "\0")),
        issuer: ScVals.bytes(StrKeys.accountBytes(asset.getIssuer()!)),
      }),
    ]);
  }

  export function fromScVal(val: xdr.ScVal | undefined): Asset {
    const parts = val?.switch() === xdr.ScValType.scvVec() ? (val.vec() ?? []) : [];
    const kind = parts[0]?.switch() === xdr.ScValType.scvSymbol() ? parts[0].sym().toString() : undefined;
    if (kind === "Native") return Asset.native();
    if ((kind === "AlphaNum4" || kind === "AlphaNum12") && parts[1]) {
      const code = ScVals.field(parts[1], "asset_code");
      const issuer = ScVals.toBytes(ScVals.field(parts[1], "issuer"), "issuer", 32);
      if (code?.switch() === xdr.ScValType.scvString()) return credit(code.str().toString().replace(/\0+$/, ""), issuer);
    }
    throw HostError.host("Storage", "InternalError", "asset contract instance has no valid AssetInfo");
  }

  /** Assets read back from SAC instances: every SAC call reads its own, and `new Asset` re-checks the issuer strkey. */
  const credits = new BoundedCache<string, Asset>(1_024);

  /** `new Asset(code, issuer)`, remembered once built (an Asset is never modified); a bad code still throws. */
  function credit(code: string, issuer: Buffer): Asset {
    const id = `${issuer.toString("hex")}${code}`;
    let asset = credits.get(id);
    if (!asset) {
      asset = new Asset(code, StrKeys.encodeAccount(issuer));
      credits.set(id, asset);
    }
    return asset;
  }
}
