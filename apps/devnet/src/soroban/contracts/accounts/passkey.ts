import { xdr } from "@stellar/stellar-sdk";
import { HostError } from "../../errors";
import type { NativeContract } from "../../runtime";
import { ScVals } from "../../scval";
import { arity, missingFunction } from "../dispatch";
import { NativeWasm } from "../native-wasm";
import { CheckAuthArgs } from "./signatures";

/**
 * A passkey (WebAuthn, secp256r1) contract account.
 *
 * Modelled on kalepail/passkey-kit: its webauthn-wallet's types — a signer is a credential id
 * (`Secp256r1Id(Bytes)`) mapped to a 65-byte SEC-1 public key, the signature a
 * `Secp256r1Signature { authenticator_data: Bytes, client_data_json: Bytes, id: Bytes,
 * signature: BytesN<64> }` — and its smart-wallet's checks (contracts/smart-wallet/src/verify.rs),
 * in that order: authenticatorData at least 37 bytes (rpIdHash ‖ flags ‖ signCount) with the
 * User Present flag set; clientDataJSON at most 1024 bytes, parsing as JSON, `type` equal to
 * "webauthn.get" and `challenge` equal to the unpadded base64url of the 32-byte signature
 * payload — the only binding between the assertion and the authorization; then the host's
 * `secp256r1_verify(public_key, sha256(authenticatorData ‖ sha256(clientDataJSON)), signature)`,
 * which takes r ‖ s raw with s in low form. rpIdHash and origin are not pinned on chain, as in
 * passkey-kit (OpenZeppelin stellar-contracts' webauthn verifier omits them too). The signer is
 * kept in persistent storage, as passkey-kit keeps its signers, so a payment reads it: that read
 * shows up only in an enforcing simulation.
 *
 *   __constructor(id: Bytes, public_key: BytesN<65>)
 *   __check_auth(signature_payload, signature: Secp256r1Signature, auth_contexts)
 */
export const PASSKEY = NativeWasm.standingFor(
  "kalepail/passkey-kit webauthn-wallet / smart-wallet (secp256r1 WebAuthn signer)",
);

/** passkey-kit webauthn-wallet's `Error` codes 1, 4 and 8; 10–13 are this devnet's for the checks its smart-wallet added. */
export const PasskeyError = {
  NotFound: 1,
  ClientDataJsonChallengeIncorrect: 4,
  JsonParseError: 8,
  InvalidAuthenticatorData: 10,
  UserPresenceRequired: 11,
  InvalidWebAuthnType: 12,
  ClientDataJsonTooLarge: 13,
} as const;

const AUTHENTICATOR_DATA_MIN_LEN = 37;
const AUTHENTICATOR_FLAGS_INDEX = 32;
const FLAG_USER_PRESENT = 0x01;
const CLIENT_DATA_JSON_MAX_LEN = 1024;

const signerKey = (id: Buffer): xdr.ScVal => ScVals.vec([ScVals.symbol("Secp256r1"), ScVals.bytes(id)]);

export const passkeyAccount: NativeContract = {
  hasConstructor: true,
  invoke(env, fn, args) {
    switch (fn) {
      case "__constructor": {
        arity(fn, args, 2);
        const id = ScVals.toBytes(args[0], "id");
        const publicKey = ScVals.toBytes(args[1], "public_key", 65);
        env.persistentSet(signerKey(id), ScVals.bytes(publicKey));
        return ScVals.unit();
      }
      case "__check_auth": {
        const { payload, signature } = CheckAuthArgs.read(args);
        const authenticatorData = ScVals.toBytes(ScVals.field(signature, "authenticator_data"), "authenticator_data");
        const clientDataJson = ScVals.toBytes(ScVals.field(signature, "client_data_json"), "client_data_json");
        const id = ScVals.toBytes(ScVals.field(signature, "id"), "id");
        const sig = ScVals.toBytes(ScVals.field(signature, "signature"), "signature", 64);
        const stored = env.persistentGet(signerKey(id));
        if (!stored) throw HostError.contract(PasskeyError.NotFound, `no signer with credential id ${id.toString("base64url")}`);
        const publicKey = ScVals.toBytes(stored, "public_key", 65);

        if (authenticatorData.length < AUTHENTICATOR_DATA_MIN_LEN) throw HostError.contract(PasskeyError.InvalidAuthenticatorData, "authenticatorData is shorter than 37 bytes");
        if ((authenticatorData[AUTHENTICATOR_FLAGS_INDEX]! & FLAG_USER_PRESENT) === 0) throw HostError.contract(PasskeyError.UserPresenceRequired, "the User Present flag is not set");
        if (clientDataJson.length > CLIENT_DATA_JSON_MAX_LEN) throw HostError.contract(PasskeyError.ClientDataJsonTooLarge, "clientDataJSON is over 1024 bytes");
        const clientData = parseClientData(clientDataJson);
        if (clientData.type !== "webauthn.get") throw HostError.contract(PasskeyError.InvalidWebAuthnType, `clientDataJSON type is ${clientData.type}`);
        if (clientData.challenge !== payload.toString("base64url")) {
          throw HostError.contract(PasskeyError.ClientDataJsonChallengeIncorrect, "clientDataJSON challenge is not the signature payload");
        }
        env.crypto.verifySecp256r1(publicKey, Buffer.concat([authenticatorData, env.crypto.sha256(clientDataJson)]), sig);
        return ScVals.unit();
      }
      default:
        throw missingFunction(fn);
    }
  },
};

/** The two fields the contract reads, as serde_json_core would: both strings, anything else a parse error. */
function parseClientData(bytes: Buffer): { type: string; challenge: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(bytes.toString("utf8"));
  } catch {
    throw HostError.contract(PasskeyError.JsonParseError, "clientDataJSON is not JSON");
  }
  if (typeof parsed !== "object" || parsed === null) throw HostError.contract(PasskeyError.JsonParseError, "clientDataJSON is not an object");
  const { type, challenge } = parsed as Record<string, unknown>;
  if (typeof type !== "string" || typeof challenge !== "string") throw HostError.contract(PasskeyError.JsonParseError, "clientDataJSON lacks type or challenge");
  return { type, challenge };
}
