import { xdr } from "@stellar/stellar-sdk";

/**
 * Which protocol rules apply at a given ledger protocol version. Each gate names the first
 * protocol that has the rule, as stellar-core's ProtocolVersion.h does.
 */
export namespace Protocol {
  /** CAP-77: validators can freeze ledger keys; a transaction touching one is txFROZEN_KEY_ACCESSED. */
  export const FROZEN_KEYS = 26;
  /** CAP-71: SOROBAN_CREDENTIALS_ADDRESS_V2 and ..._WITH_DELEGATES (FIRST_PROTOCOL_CAP71 = V_27). */
  export const CAP71 = 27;

  export function hasFrozenKeys(version: number): boolean {
    return version >= FROZEN_KEYS;
  }

  export function hasCap71(version: number): boolean {
    return version >= CAP71;
  }

  /**
   * Whether the operations' XDR exists at `version`. stellar-core first checks that the envelope
   * parses with the XDR of the ledger's protocol (validateXDRForProtocol → txMALFORMED); of the arms
   * added since protocol 23 a Soroban transaction can carry only CAP-71's two auth credentials.
   */
  export function operationsParseAt(operations: readonly xdr.Operation[], version: number): boolean {
    if (hasCap71(version)) return true;
    const T = xdr.SorobanCredentialsType;
    const cap71 = new Set([T.sorobanCredentialsAddressV2().value, T.sorobanCredentialsAddressWithDelegates().value]);
    return operations.every(
      (op) =>
        op.body().switch() !== xdr.OperationType.invokeHostFunction() ||
        op.body().invokeHostFunctionOp().auth().every((entry) => !cap71.has(entry.credentials().switch().value)),
    );
  }
}
