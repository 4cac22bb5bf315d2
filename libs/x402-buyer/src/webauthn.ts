import { createHash, sign, type KeyObject } from "node:crypto";

/**
 * A WebAuthn assertion (`navigator.credentials.get`) made in software with a P-256 key, the way a
 * platform authenticator answers it — for tests and for servers that hold a passkey-style key.
 *
 *   authenticatorData = sha256(rpId) ‖ flags ‖ signCount (u32 big-endian)        (37 bytes)
 *   clientDataJSON    = {"type":"webauthn.get","challenge":base64url(challenge),"origin":…,"crossOrigin":false}
 *   signature         = ECDSA P-256 / SHA-256 over authenticatorData ‖ sha256(clientDataJSON)
 *
 * Authenticators return the signature DER-encoded with whatever s they drew; Soroban's
 * `secp256r1_verify` takes 64 raw bytes r ‖ s and refuses an s above n / 2. So the signature is
 * returned raw (IEEE P1363) and normalized to low s (n − s, the same signature on the curve).
 */
export namespace WebAuthnAssertion {
  export interface Options {
    /** The relying party id whose sha256 heads authenticatorData (e.g. "example.com"). */
    readonly rpId: string;
    /** clientDataJSON's origin (e.g. "https://example.com"). */
    readonly origin: string;
    /** Set the User Verified flag too (User Present is always set). Default true. */
    readonly userVerified?: boolean;
    /** The authenticator's signature counter. Default 0 (synced passkeys report 0). */
    readonly signCount?: number;
  }

  export interface Assertion {
    readonly authenticatorData: Buffer;
    readonly clientDataJson: Buffer;
    /** 64 bytes, r ‖ s, s in low form. */
    readonly signature: Buffer;
  }

  const FLAG_UP = 0x01;
  const FLAG_UV = 0x04;
  const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

  export function create(privateKey: KeyObject, challenge: Buffer, options: Options): Assertion {
    const flags = FLAG_UP | (options.userVerified === false ? 0 : FLAG_UV);
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(options.signCount ?? 0);
    const authenticatorData = Buffer.concat([sha256(Buffer.from(options.rpId, "utf8")), Buffer.from([flags]), counter]);
    const clientDataJson = Buffer.from(
      JSON.stringify({ type: "webauthn.get", challenge: challenge.toString("base64url"), origin: options.origin, crossOrigin: false }),
      "utf8",
    );
    return { authenticatorData, clientDataJson, signature: signP256(privateKey, Buffer.concat([authenticatorData, sha256(clientDataJson)])) };
  }

  /** ECDSA P-256 / SHA-256 of `message`, raw r ‖ s with s in low form. */
  export function signP256(privateKey: KeyObject, message: Buffer): Buffer {
    const raw = sign("sha256", message, { key: privateKey, dsaEncoding: "ieee-p1363" });
    const s = BigInt(`0x${raw.subarray(32).toString("hex")}`);
    if (s <= P256_ORDER >> 1n) return raw;
    return Buffer.concat([raw.subarray(0, 32), Buffer.from((P256_ORDER - s).toString(16).padStart(64, "0"), "hex")]);
  }

  /** The 65-byte SEC-1 uncompressed public key (0x04 ‖ x ‖ y) Soroban takes. */
  export function publicKeyBytes(key: KeyObject): Buffer {
    const jwk = key.export({ format: "jwk" });
    if (jwk.kty !== "EC" || jwk.crv !== "P-256" || !jwk.x || !jwk.y) throw new Error("not a P-256 key");
    return Buffer.concat([Buffer.from([0x04]), Buffer.from(jwk.x, "base64url"), Buffer.from(jwk.y, "base64url")]);
  }

  function sha256(data: Buffer): Buffer {
    return createHash("sha256").update(data).digest();
  }
}
