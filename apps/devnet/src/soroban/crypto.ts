import { createPublicKey, verify, type KeyObject } from "node:crypto";
import { BoundedCache } from "../bounded-cache";
import { verifyEd25519 } from "../ed25519";
import { sha256 } from "../sha256";
import { HostError } from "./errors";
import { RESOURCE_FEE_SCHEDULE } from "./fees";

/**
 * The crypto host functions native contracts call (an account's `__check_auth` above all), with
 * the host's failure modes: a bad signature traps with Error(Crypto, InvalidInput), it never
 * returns false. Each call is charged in instructions, so what an account verifies shows up in
 * the transaction's resources and fee.
 *
 * Prices follow the devnet's schedule (fees.ts): an ed25519 check costs what the built-in check of
 * a G account's signature costs (SIGNATURE); a secp256r1 check eight times that, the ratio of
 * soroban-env-host's cost model (VerifyEcdsaSecp256r1Sig 3 000 906 vs VerifyEd25519Sig
 * 377 551 + 32/byte, budget.rs); a sha256 is too cheap there to price here.
 */
export const CRYPTO_INSTRUCTIONS = {
  ed25519Verify: RESOURCE_FEE_SCHEDULE.instructions.signature,
  secp256r1Verify: 8 * RESOURCE_FEE_SCHEDULE.instructions.signature,
} as const;

export interface HostCrypto {
  /** `ed25519_verify(public_key: BytesN<32>, message: Bytes, signature: BytesN<64>)`. */
  verifyEd25519(publicKey: Buffer, message: Buffer, signature: Buffer): void;
  /**
   * `secp256r1_verify(public_key: BytesN<65>, sha256(message), signature: BytesN<64>)`: the key
   * SEC-1 uncompressed (0x04 ‖ x ‖ y), the signature raw r ‖ s with s in low form — the host
   * refuses a high s rather than normalizing it, as WebAuthn authenticators do not normalize. Node
   * cannot verify a bare digest, so the message is given and hashed here, which is exactly how
   * every WebAuthn verifier calls the host (over authenticatorData ‖ sha256(clientDataJSON)).
   */
  verifySecp256r1(publicKey: Buffer, message: Buffer, signature: Buffer): void;
  sha256(data: Buffer): Buffer;
}

/** P-256's group order n; an s above n / 2 is not in low form. */
const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const keys = new BoundedCache<string, KeyObject>(1_024);

export function hostCrypto(charge: (instructions: number) => void): HostCrypto {
  return {
    verifyEd25519(publicKey, message, signature) {
      charge(CRYPTO_INSTRUCTIONS.ed25519Verify);
      if (publicKey.length !== 32 || signature.length !== 64 || !verifyEd25519(publicKey, message, signature)) {
        throw HostError.host("Crypto", "InvalidInput", "failed ED25519 verification");
      }
    },
    verifySecp256r1(publicKey, message, signature) {
      charge(CRYPTO_INSTRUCTIONS.secp256r1Verify);
      const key = p256Key(publicKey);
      if (signature.length !== 64) throw HostError.host("Crypto", "InvalidInput", "invalid ECDSA signature");
      const s = BigInt(`0x${signature.subarray(32).toString("hex")}`);
      if (s > P256_ORDER >> 1n) throw HostError.host("Crypto", "InvalidInput", "ECDSA signature 's' part is not normalized to low form");
      let valid = false;
      try {
        valid = verify("sha256", message, { key, dsaEncoding: "ieee-p1363" }, signature);
      } catch {
        valid = false;
      }
      if (!valid) throw HostError.host("Crypto", "InvalidInput", "failed secp256r1 verification");
    },
    sha256: (data) => sha256(data),
  };
}

function p256Key(publicKey: Buffer): KeyObject {
  if (publicKey.length !== 65 || publicKey[0] !== 0x04) throw HostError.host("Crypto", "InvalidInput", "invalid ECDSA public key");
  const id = publicKey.toString("hex");
  let key = keys.get(id);
  if (!key) {
    try {
      key = createPublicKey({
        key: { kty: "EC", crv: "P-256", x: publicKey.subarray(1, 33).toString("base64url"), y: publicKey.subarray(33).toString("base64url") },
        format: "jwk",
      });
    } catch {
      // Not a point on the curve.
      throw HostError.host("Crypto", "InvalidInput", "invalid ECDSA public key");
    }
    keys.set(id, key);
  }
  return key;
}
