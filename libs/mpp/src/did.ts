import { StrKey } from "@stellar/stellar-sdk";
import { Network } from "./constants.js";
import type { NetworkId } from "./constants.js";
import { QuayMppError } from "./errors.js";

/**
 * The payer identity a charge credential carries: `did:pkh:stellar:{testnet|pubnet}:G…`, or, for
 * a contract account paying (its `__check_auth` authorises the transfer), `…:C…`. A contract
 * account can pay by pull only: a push's source signature is an ed25519 key's.
 */

export interface StellarDid {
  readonly network: NetworkId;
  readonly address: string;
}

export class DidError extends QuayMppError {
  override readonly name = "DidError";
}

export const Did = {
  from(network: NetworkId, address: string): string {
    if (!StrKey.isValidEd25519PublicKey(address)) throw new DidError("a Stellar DID names a G… account");
    return `did:pkh:${network}:${address}`;
  },
  /** Throws DidError unless `did` is exactly five colon parts naming a known network and a valid G… key or C… contract. */
  parse(did: string): StellarDid {
    const parts = did.split(":");
    if (parts.length !== 5 || parts[0] !== "did" || parts[1] !== "pkh" || parts[2] !== "stellar") {
      throw new DidError("source must be did:pkh:stellar:<network>:<G… address>");
    }
    const network = `stellar:${parts[3]}`;
    const address = parts[4]!;
    if (!Network.isId(network)) throw new DidError(`unknown Stellar network "${parts[3]}" in source DID`);
    if (!StrKey.isValidEd25519PublicKey(address) && !StrKey.isValidContract(address)) throw new DidError("source DID does not name a valid G… account or C… contract");
    return { network, address };
  },
  /** parse() that answers undefined instead of throwing. */
  tryParse(did: string | undefined): StellarDid | undefined {
    if (did === undefined) return undefined;
    try {
      return Did.parse(did);
    } catch {
      return undefined;
    }
  },
} as const;
