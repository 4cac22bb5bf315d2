import { xdr } from "@stellar/stellar-sdk";
import { HostError } from "./errors";
import { ScVals } from "./scval";

/**
 * The `auth_contexts: Vec<Context>` argument the host passes to an account's `__check_auth`, as
 * soroban-env-host builds it (`builtin_contracts/account_contract.rs`,
 * `invocation_tree_to_auth_contexts`): the authorized invocation tree walked depth first, root
 * first, one `Context` per node, each a `#[contracttype]` enum value:
 *
 *   Contract(ContractContext { contract: Address, fn_name: Symbol, args: Vec<Val> })
 *   CreateContractHostFn(CreateContractHostFnContext { executable: ContractExecutable, salt: BytesN<32> })
 *   CreateContractWithCtorHostFn(... { executable, salt, constructor_args: Vec<Val> })
 *
 * A creation with constructor arguments is the third variant, without them the second (V1 and
 * V2 alike). The host refuses to describe a Stellar Asset executable or an asset preimage:
 * Error(Auth, InvalidInput).
 */
export type AuthContext =
  | { readonly kind: "contract"; readonly contract: string; readonly fnName: string; readonly args: readonly xdr.ScVal[] }
  | { readonly kind: "createContract"; readonly wasmHash: Buffer; readonly salt: Buffer; readonly constructorArgs: readonly xdr.ScVal[] };

export namespace AuthContexts {
  /** The contexts of an authorized invocation tree, as the ScVal `__check_auth` receives. */
  export function of(root: xdr.SorobanAuthorizedInvocation): xdr.ScVal {
    const out: xdr.ScVal[] = [];
    const walk = (node: xdr.SorobanAuthorizedInvocation): void => {
      out.push(contextOf(node.function()));
      for (const child of node.subInvocations()) walk(child);
    };
    walk(root);
    return ScVals.vec(out);
  }

  /** Reads the contexts an account's `__check_auth` was given (the account side). */
  export function read(val: xdr.ScVal | undefined): AuthContext[] {
    if (!val || val.switch() !== xdr.ScValType.scvVec()) throw HostError.host("Value", "UnexpectedType", "auth_contexts: expected Vec<Context>");
    return (val.vec() ?? []).map(readOne);
  }

  function contextOf(fn: xdr.SorobanAuthorizedFunction): xdr.ScVal {
    const T = xdr.SorobanAuthorizedFunctionType;
    switch (fn.switch()) {
      case T.sorobanAuthorizedFunctionTypeContractFn(): {
        const call = fn.contractFn();
        return variant("Contract", {
          args: ScVals.vec(call.args()),
          contract: xdr.ScVal.scvAddress(call.contractAddress()),
          fn_name: ScVals.symbol(call.functionName().toString()),
        });
      }
      case T.sorobanAuthorizedFunctionTypeCreateContractHostFn(): {
        const args = fn.createContractHostFn();
        return creation(args.executable(), args.contractIdPreimage(), []);
      }
      case T.sorobanAuthorizedFunctionTypeCreateContractV2HostFn(): {
        const args = fn.createContractV2HostFn();
        return creation(args.executable(), args.contractIdPreimage(), args.constructorArgs());
      }
      default:
        throw HostError.host("Auth", "InvalidInput", `unknown authorized function ${fn.switch().name}`);
    }
  }

  function creation(executable: xdr.ContractExecutable, preimage: xdr.ContractIdPreimage, constructorArgs: xdr.ScVal[]): xdr.ScVal {
    if (executable.switch() !== xdr.ContractExecutableType.contractExecutableWasm()) {
      throw HostError.host("Auth", "InvalidInput", "StellarAsset executable is not allowed when authorizing create_contract host fn");
    }
    if (preimage.switch() !== xdr.ContractIdPreimageType.contractIdPreimageFromAddress()) {
      throw HostError.host("Auth", "InvalidInput", "asset preimage is not allowed when authorizing create_contract host fn");
    }
    const fields: Record<string, xdr.ScVal> = {
      executable: ScVals.vec([ScVals.symbol("Wasm"), ScVals.bytes(Buffer.from(executable.wasmHash()))]),
      salt: ScVals.bytes(Buffer.from(preimage.fromAddress().salt())),
    };
    if (constructorArgs.length === 0) return variant("CreateContractHostFn", fields);
    return variant("CreateContractWithCtorHostFn", { ...fields, constructor_args: ScVals.vec(constructorArgs) });
  }

  /** A `#[contracttype]` enum variant holding one struct: `Vec[Symbol(name), {fields}]`. */
  function variant(name: string, fields: Record<string, xdr.ScVal>): xdr.ScVal {
    return ScVals.vec([ScVals.symbol(name), ScVals.struct(fields)]);
  }

  function readOne(val: xdr.ScVal): AuthContext {
    const parts = val.switch() === xdr.ScValType.scvVec() ? (val.vec() ?? []) : [];
    const tag = parts[0];
    const body = parts[1];
    if (parts.length !== 2 || !tag || !body || tag.switch() !== xdr.ScValType.scvSymbol()) {
      throw HostError.host("Value", "UnexpectedType", "auth context: expected a Context enum value");
    }
    switch (tag.sym().toString()) {
      case "Contract": {
        const args = ScVals.field(body, "args");
        const fnName = ScVals.field(body, "fn_name");
        if (!args || args.switch() !== xdr.ScValType.scvVec() || !fnName || fnName.switch() !== xdr.ScValType.scvSymbol()) {
          throw HostError.host("Value", "UnexpectedType", "ContractContext: malformed");
        }
        return { kind: "contract", contract: ScVals.toAddress(ScVals.field(body, "contract"), "contract"), fnName: fnName.sym().toString(), args: args.vec() ?? [] };
      }
      case "CreateContractHostFn":
      case "CreateContractWithCtorHostFn": {
        const executable = ScVals.field(body, "executable")?.vec() ?? [];
        const ctor = ScVals.field(body, "constructor_args");
        return {
          kind: "createContract",
          wasmHash: ScVals.toBytes(executable[1], "executable", 32),
          salt: ScVals.toBytes(ScVals.field(body, "salt"), "salt", 32),
          constructorArgs: ctor?.vec() ?? [],
        };
      }
      default:
        throw HostError.host("Value", "UnexpectedType", `auth context: unknown variant ${tag.sym().toString()}`);
    }
  }
}

