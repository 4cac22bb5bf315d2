import { createHash } from "node:crypto";

/** A Wasm blob a funder uploads, and the code hash that selects a native implementation. */
export interface NativeWasmCode {
  readonly wasm: Buffer;
  readonly hash: Buffer;
}

/**
 * The local devnet runs no Wasm: a contract is deployed with a real uploadContractWasm and
 * createContract, but its code is a valid, empty Wasm module whose custom section
 * (`quay.devnet.native-contract`) names the design its native implementation stands for. The code
 * hash (sha256 of those bytes) is what the devnet's contract registry maps to the implementation,
 * so distinct designs get distinct hashes and the same design always the same one.
 */
export namespace NativeWasm {
  const SECTION = "quay.devnet.native-contract";

  export function standingFor(design: string): NativeWasmCode {
    const wasm = withCustomSection(SECTION, design);
    return { wasm, hash: createHash("sha256").update(wasm).digest() };
  }

  function withCustomSection(name: string, payload: string): Buffer {
    const nameBytes = Buffer.from(name, "utf8");
    const body = Buffer.concat([uleb128(nameBytes.length), nameBytes, Buffer.from(payload, "utf8")]);
    // Magic, version 1, then custom section (id 0) with its size.
    return Buffer.concat([Buffer.from([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x00]), uleb128(body.length), body]);
  }

  function uleb128(n: number): Buffer {
    const out: number[] = [];
    let v = n;
    do {
      let byte = v & 0x7f;
      v >>>= 7;
      if (v !== 0) byte |= 0x80;
      out.push(byte);
    } while (v !== 0);
    return Buffer.from(out);
  }
}
