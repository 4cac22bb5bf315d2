/**
 * No SDK object crosses between copies of @stellar/stellar-sdk.
 *
 * Three copies live in node_modules: Quay's own @stellar/stellar-sdk 16 (top level, with the top-level
 * @stellar/js-xdr 4), the 14 that @x402/stellar 2.9 nests (with the top-level @stellar/stellar-base 14
 * and its js-xdr 3), and the dev alias @stellar/stellar-sdk-17 (with its js-xdr 5). Only plain data
 * (base64 XDR, strings, numbers, bigints, plain objects of those) may pass from code of one copy to
 * code of another: an `xdr.*` value, Transaction, Keypair, Address, rpc.Server... of one copy breaks
 * the other's `instanceof`, XDR encoding and `switch()` comparisons.
 *
 * How. One TypeScript program over tsconfig.json's files (apps/<app>/src, libs/<lib>/src, test). Imports
 * that project files make of packages other than @stellar/* and @x402/* are left unresolved (typed
 * `any`): none of those packages ships or takes SDK types, and parsing them (viem, drizzle, fastify,
 * vitest...) would triple the time. Only files that can see the 14 or the 17 are scanned: those
 * importing their modules (or @x402/stellar) and, transitively, their importers; every other file
 * sees 16 types alone, so nothing in it can cross. In the scanned files the checker looks at every
 * place a value flows:
 *   - into a typed slot: call and `new` arguments, annotated variables, class properties and
 *     parameter defaults, returns (also arrow bodies), object literal properties, array elements,
 *     assignments. The slot's type is TypeScript's contextual type for the value (for a call, the
 *     parameter of the signature it resolved, even when the call does not type-check);
 *   - into code of a copy whatever the parameter says (`nativeToScVal(val: any)`): arguments of a
 *     call whose resolved declaration is in a copy, or in @x402/stellar's dist (it runs on its 14);
 *   - into an `instanceof`, an `===`/`!==` comparison or a `switch` case.
 * For each it computes which copies the value's type and the slot's type carry: a class, enum or
 * namespace declared in a copy's files is that copy's SDK object; unions, intersections, type and
 * alias arguments (Promise<T>, T[], Partial<T>...), index signatures, and the properties and
 * call/construct signatures of interfaces, object types and classes of the project, of @x402 or of a
 * copy (its plain-data interfaces, its SigningCallback-style function types) are walked, memoized per
 * type; lib, @types/node and other packages' types are walked only through their type arguments.
 * A flow is a violation when the slot carries copies and the value carries one the slot does not, or
 * when the callee is code of a copy and the value carries another one, or when the two sides of an
 * `instanceof`/comparison carry different copies.
 *
 * Guarantees: every such flow in the project's sources is found and the real scan must report none; an
 * in-memory probe (never written to disk) that crosses each way, and also passes plain data, shows
 * the checker reports exactly its crossing lines. A guard fails when a new copy of the SDK appears
 * in node_modules, or when a copy's version moves, so the labels below stay true.
 * Limits: values typed `any`/`unknown` (casts included: `x as unknown as T`), `JSON`/`structuredClone`
 * round trips and reflection (`createRequire`, libs/demo/src/x402-sdk.ts, the sanctioned way to
 * the nested 14 for a patch) escape it; a plain object whose fields carry the same copies as the slot
 * but swapped between fields is not told apart; spread arguments are only checked against the callee's
 * copy; only types are compared, so an object's runtime origin hidden behind a broad type is invisible.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

type Copy = "sdk16" | "sdk14" | "sdk17";
type Copies = ReadonlySet<Copy>;
const NONE: Copies = new Set();

/** Which copy owns a declaration file, by path from the repo root (first match wins). */
const COPY_DIRS: ReadonlyArray<readonly [dir: string, copy: Copy]> = [
  ["node_modules/@stellar/stellar-sdk/", "sdk16"],
  ["node_modules/@stellar/js-xdr/", "sdk16"],
  ["node_modules/@x402/stellar/node_modules/@stellar/", "sdk14"],
  ["node_modules/@stellar/stellar-base/", "sdk14"],
  ["node_modules/@stellar/stellar-sdk-17/", "sdk17"],
];
/** Code that runs on a copy without being part of it. */
const CODE_DIRS: ReadonlyArray<readonly [dir: string, copy: Copy]> = [...COPY_DIRS, ["node_modules/@x402/stellar/dist/", "sdk14"]];
/** The packages whose versions the labels assume: [package dir, major]. */
const COPY_VERSIONS: ReadonlyArray<readonly [dir: string, major: number]> = [
  ["node_modules/@stellar/stellar-sdk", 16],
  ["node_modules/@stellar/js-xdr", 4],
  ["node_modules/@x402/stellar/node_modules/@stellar/stellar-sdk", 14],
  ["node_modules/@stellar/stellar-base", 14],
  ["node_modules/@stellar/stellar-base/node_modules/@stellar/js-xdr", 3],
  ["node_modules/@stellar/stellar-sdk-17", 17],
  ["node_modules/@stellar/stellar-sdk-17/node_modules/@stellar/js-xdr", 5],
];

function relative(fileName: string): string {
  return path.relative(ROOT, fileName).split(path.sep).join("/");
}

function ownerOf(fileName: string, dirs: ReadonlyArray<readonly [string, Copy]>): Copy | undefined {
  const rel = relative(fileName);
  return dirs.find(([dir]) => rel.startsWith(dir))?.[1];
}

const copyOfDeclaration = (fileName: string): Copy | undefined => ownerOf(fileName, COPY_DIRS);
const copyOfCode = (fileName: string): Copy | undefined => ownerOf(fileName, CODE_DIRS);
const isProjectFile = (fileName: string): boolean => !fileName.includes("/node_modules/") && fileName.startsWith(ROOT);
/** Declarations the type walk looks inside: the project's, @x402's and the copies'. */
const isWalkedFile = (fileName: string): boolean => isProjectFile(fileName) || /\/node_modules\/@(stellar|x402)\//.test(fileName);

function label(copies: Copies): string {
  return [...copies].sort().join("+");
}

// ---------------------------------------------------------------------------------------------
// The program

function projectConfig(): ts.ParsedCommandLine {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, "tsconfig.json"), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, "\n"));
    },
  });
  if (config === undefined) throw new Error("tsconfig.json did not parse");
  return config;
}

/**
 * A compiler host over the real one: parses each file once for every program made with it, serves
 * `virtualFiles` from memory, and leaves project imports of packages other than @stellar/* and
 * @x402/* unresolved.
 */
function createHost(options: ts.CompilerOptions, virtualFiles: ReadonlyMap<string, string>): ts.CompilerHost {
  const base = ts.createCompilerHost(options, true);
  const parsed = new Map<string, ts.SourceFile | undefined>();
  const resolutions = ts.createModuleResolutionCache(ROOT, (f) => f, options);
  const host: ts.CompilerHost = {
    ...base,
    fileExists: (f) => virtualFiles.has(f) || base.fileExists(f),
    readFile: (f) => virtualFiles.get(f) ?? base.readFile(f),
    getSourceFile(fileName, languageVersion, onError) {
      if (!parsed.has(fileName)) {
        const text = virtualFiles.get(fileName);
        parsed.set(
          fileName,
          text === undefined ? base.getSourceFile(fileName, languageVersion, onError) : ts.createSourceFile(fileName, text, languageVersion, true),
        );
      }
      return parsed.get(fileName);
    },
    resolveModuleNameLiterals(literals, containingFile, redirected, opts) {
      return literals.map((literal) => {
        const resolved = ts.resolveModuleName(literal.text, containingFile, opts, host, resolutions, redirected);
        const target = resolved.resolvedModule?.resolvedFileName;
        if (target !== undefined && isProjectFile(containingFile) && !isWalkedFile(target)) return { resolvedModule: undefined };
        return resolved;
      });
    },
  };
  return host;
}

// ---------------------------------------------------------------------------------------------
// Which copies a type carries

const SCALAR =
  ts.TypeFlags.Any |
  ts.TypeFlags.Unknown |
  ts.TypeFlags.Never |
  ts.TypeFlags.Void |
  ts.TypeFlags.Undefined |
  ts.TypeFlags.Null |
  ts.TypeFlags.StringLike |
  ts.TypeFlags.NumberLike |
  ts.TypeFlags.BigIntLike |
  ts.TypeFlags.BooleanLike |
  ts.TypeFlags.ESSymbolLike |
  ts.TypeFlags.NonPrimitive;
const SDK_OBJECT = ts.SymbolFlags.Class | ts.SymbolFlags.Enum | ts.SymbolFlags.ValueModule;

function declarationFiles(symbol: ts.Symbol | undefined): string[] {
  return (symbol?.declarations ?? []).map((d) => d.getSourceFile().fileName);
}

/** The copy of an SDK object type: an instance or constructor of a class, an enum or namespace object, declared in a copy. */
function sdkObjectCopy(type: ts.Type): Copy | undefined {
  const symbol = type.getSymbol();
  if (symbol === undefined || (symbol.flags & SDK_OBJECT) === 0) return undefined;
  return declarationFiles(symbol).map(copyOfDeclaration).find((c) => c !== undefined);
}

/** lib, @types/node and other packages' types: only their type arguments are walked. */
function isOpaque(type: ts.Type): boolean {
  const files = declarationFiles(type.getSymbol());
  return files.length > 0 && !files.some(isWalkedFile);
}

type CopyWalker = (type: ts.Type) => Copies;

function createCopyWalker(checker: ts.TypeChecker): CopyWalker {
  const memo = new Map<ts.Type, Copies>();
  const walking = new Set<ts.Type>();
  let cycles = 0;

  function copiesIn(type: ts.Type): Copies {
    const known = memo.get(type);
    if (known !== undefined) return known;
    if (walking.has(type)) {
      cycles++; // the frame walking it collects the rest
      return NONE;
    }
    const cyclesBefore = cycles;
    walking.add(type);
    const found = new Set<Copy>();
    collect(type, (c) => c.forEach((x) => found.add(x)));
    walking.delete(type);
    // A result cut short by a cycle is complete only for the outermost type of the walk.
    if (cycles === cyclesBefore || walking.size === 0) memo.set(type, found);
    return found;
  }

  function collect(type: ts.Type, add: (copies: Copies) => void): void {
    if (type.flags & SCALAR) return;
    type.aliasTypeArguments?.forEach((t) => add(copiesIn(t)));
    if (type.isUnionOrIntersection()) return type.types.forEach((t) => add(copiesIn(t)));
    if (type.flags & ts.TypeFlags.Instantiable) {
      const constraint = checker.getBaseConstraintOfType(type);
      if (constraint !== undefined && constraint !== type) add(copiesIn(constraint));
      return;
    }
    if (!(type.flags & ts.TypeFlags.Object)) return;
    const own = sdkObjectCopy(type);
    if (own !== undefined) return add(new Set([own]));
    if ((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) {
      checker.getTypeArguments(type as ts.TypeReference).forEach((t) => add(copiesIn(t)));
    }
    if (isOpaque(type)) return;
    for (const property of checker.getPropertiesOfType(type)) add(copiesIn(checker.getTypeOfSymbol(property)));
    for (const info of checker.getIndexInfosOfType(type)) add(copiesIn(info.type));
    for (const kind of [ts.SignatureKind.Call, ts.SignatureKind.Construct]) {
      for (const signature of checker.getSignaturesOfType(type, kind)) {
        for (const parameter of signature.getParameters()) add(copiesIn(checker.getTypeOfSymbol(parameter)));
        add(copiesIn(signature.getReturnType()));
      }
    }
  }

  return copiesIn;
}

// ---------------------------------------------------------------------------------------------
// Where values flow

interface Violation {
  readonly file: string;
  readonly line: number;
  readonly message: string;
}

interface ScanResult {
  readonly violations: Violation[];
  /** How many checked values carried each copy, and how many calls went to code of each copy: */
  /** the scan saw the SDKs at all (an unresolved SDK would type everything `any` and pass vacuously). */
  readonly carried: Record<Copy, number>;
  readonly calls: Record<Copy, number>;
}

function isLiteralContainer(node: ts.Expression): boolean {
  return ts.isObjectLiteralExpression(node) || ts.isArrayLiteralExpression(node);
}

function short(text: string): string {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > 70 ? `${flat.slice(0, 67)}...` : flat;
}

const ASSIGNMENTS = new Set([
  ts.SyntaxKind.EqualsToken,
  ts.SyntaxKind.QuestionQuestionEqualsToken,
  ts.SyntaxKind.BarBarEqualsToken,
  ts.SyntaxKind.AmpersandAmpersandEqualsToken,
]);
const EQUALITIES = new Set([
  ts.SyntaxKind.EqualsEqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsEqualsToken,
  ts.SyntaxKind.EqualsEqualsToken,
  ts.SyntaxKind.ExclamationEqualsToken,
]);

function scanFile(file: ts.SourceFile, checker: ts.TypeChecker, copiesIn: CopyWalker, result: ScanResult): void {
  const typeText = (t: ts.Type): string => short(checker.typeToString(t));
  const report = (at: ts.Node, message: string): void => {
    const line = file.getLineAndCharacterOfPosition(at.getStart(file)).line + 1;
    result.violations.push({ file: relative(file.fileName), line, message });
  };
  const note = (copies: Copies): void => copies.forEach((c) => result.carried[c]++);

  /** A value flowing into a slot typed `target`: reported when it carries a copy the slot does not. */
  function flow(value: ts.Expression, target: ts.Type | undefined, slot: string): boolean {
    if (target === undefined || isLiteralContainer(value)) return false;
    const source = checker.getTypeAtLocation(value);
    const from = copiesIn(source);
    note(from);
    const into = copiesIn(target);
    if (into.size === 0 || [...from].every((c) => into.has(c))) return false;
    report(value, `${typeText(source)} (${label(from)}) passed to ${slot}: ${typeText(target)} (${label(into)})`);
    return true;
  }

  /** A value handed to code of `callee`'s copy, whatever the parameter's type. */
  function intoCode(value: ts.Expression, code: Copy, callee: string): void {
    const source = checker.getTypeAtLocation(ts.isSpreadElement(value) ? value.expression : value);
    const from = copiesIn(source);
    if ([...from].every((c) => c === code)) return;
    report(value, `${typeText(source)} (${label(from)}) passed to ${callee} (code of ${code})`);
  }

  /** Two SDK values of different copies meeting in an instanceof or a comparison. */
  function meet(left: ts.Type, right: ts.Type, at: ts.Node, what: string): void {
    const a = copiesIn(left);
    const b = copiesIn(right);
    if (a.size === 0 || b.size === 0 || (a.size === b.size && [...a].every((c) => b.has(c)))) return;
    report(at, `${typeText(left)} (${label(a)}) ${what} ${typeText(right)} (${label(b)})`);
  }

  function instanceType(constructor: ts.Type): ts.Type | undefined {
    return checker.getSignaturesOfType(constructor, ts.SignatureKind.Construct)[0]?.getReturnType();
  }

  function visitCall(node: ts.CallExpression | ts.NewExpression): void {
    const signature = checker.getResolvedSignature(node);
    const declaration = signature?.getDeclaration();
    const code = declaration === undefined ? undefined : copyOfCode(declaration.getSourceFile().fileName);
    const callee = short(node.expression.getText(file));
    if (code !== undefined) result.calls[code]++;
    (node.arguments ?? []).forEach((arg, i) => {
      const slot = `argument ${i + 1} of ${callee}`;
      const crossed = !ts.isSpreadElement(arg) && flow(arg, checker.getContextualType(arg), slot);
      if (!crossed && code !== undefined) intoCode(arg, code, callee);
    });
  }

  function visitShorthand(node: ts.ShorthandPropertyAssignment): void {
    const literal = node.parent;
    const container = checker.getContextualType(literal);
    const property = container && checker.getPropertyOfType(container, node.name.text);
    if (property !== undefined) flow(node.name, checker.getTypeOfSymbol(property), `property ${node.name.text}`);
  }

  function visitBinary(node: ts.BinaryExpression): void {
    const op = node.operatorToken.kind;
    if (ASSIGNMENTS.has(op)) flow(node.right, checker.getContextualType(node.right), short(node.left.getText(file)));
    else if (EQUALITIES.has(op)) meet(checker.getTypeAtLocation(node.left), checker.getTypeAtLocation(node.right), node, "compared with");
    else if (op === ts.SyntaxKind.InstanceOfKeyword) {
      const instance = instanceType(checker.getTypeAtLocation(node.right));
      if (instance !== undefined) meet(checker.getTypeAtLocation(node.left), instance, node, "tested with instanceof");
    }
  }

  function visit(node: ts.Node): void {
    if (ts.isCallExpression(node) || ts.isNewExpression(node)) visitCall(node);
    else if (ts.isBinaryExpression(node)) visitBinary(node);
    else if ((ts.isVariableDeclaration(node) || ts.isPropertyDeclaration(node) || ts.isParameter(node)) && node.initializer) {
      flow(node.initializer, checker.getContextualType(node.initializer), short(node.name.getText(file)));
    } else if (ts.isReturnStatement(node) && node.expression) flow(node.expression, checker.getContextualType(node.expression), "the return value");
    else if (ts.isArrowFunction(node) && !ts.isBlock(node.body)) flow(node.body, checker.getContextualType(node.body), "the return value");
    else if (ts.isPropertyAssignment(node)) flow(node.initializer, checker.getContextualType(node.initializer), `property ${short(node.name.getText(file))}`);
    else if (ts.isShorthandPropertyAssignment(node)) visitShorthand(node);
    else if (ts.isArrayLiteralExpression(node)) {
      for (const element of node.elements) if (!ts.isSpreadElement(element) && !ts.isOmittedExpression(element)) flow(element, checker.getContextualType(element), "an array element");
    } else if (ts.isCaseClause(node)) {
      meet(checker.getTypeAtLocation(node.parent.parent.expression), checker.getTypeAtLocation(node.expression), node.expression, "switched on with case");
    }
    ts.forEachChild(node, visit);
  }

  visit(file);
}

function scan(program: ts.Program, fileNames: readonly string[]): ScanResult {
  const checker = program.getTypeChecker();
  const copiesIn = createCopyWalker(checker);
  const result: ScanResult = { violations: [], carried: { sdk16: 0, sdk14: 0, sdk17: 0 }, calls: { sdk16: 0, sdk14: 0, sdk17: 0 } };
  for (const fileName of fileNames) {
    const file = program.getSourceFile(fileName);
    if (file !== undefined) scanFile(file, checker, copiesIn, result);
  }
  return result;
}

/**
 * The project files that can see a copy other than 16: those importing a module of the 14 (the
 * nested SDK, its stellar-base, @x402/stellar) or of the 17, then, transitively, their importers.
 * Every other file sees only 16 SDK types (it imports neither those modules nor a file that does),
 * so no flow in it can cross: leaving those files out halves the scan.
 */
function filesSeeingOtherCopies(fileNames: readonly string[], options: ts.CompilerOptions, host: ts.CompilerHost): string[] {
  const resolutions = ts.createModuleResolutionCache(ROOT, (f) => f, options);
  const importers = new Map<string, string[]>();
  const reached = new Set<string>();
  for (const file of fileNames) {
    for (const { fileName: specifier } of ts.preProcessFile(host.readFile(file) ?? "", true, true).importedFiles) {
      const target = ts.resolveModuleName(specifier, file, options, host, resolutions).resolvedModule?.resolvedFileName;
      if (target === undefined) continue;
      const copy = copyOfCode(target);
      if (copy !== undefined && copy !== "sdk16") reached.add(file);
      if (isProjectFile(target)) importers.set(target, [...(importers.get(target) ?? []), file]);
    }
  }
  for (const file of reached) for (const importer of importers.get(file) ?? []) reached.add(importer);
  return fileNames.filter((f) => reached.has(f));
}

function format(violations: readonly Violation[]): string {
  return violations.map((v) => `${v.file}:${v.line}: ${v.message}`).join("\n");
}

/** Declaration files of @stellar packages no entry of COPY_DIRS accounts for: a new copy in node_modules. */
function unknownCopies(program: ts.Program): string[] {
  const stellar = program.getSourceFiles().filter((f) => /\/node_modules\/@stellar\//.test(f.fileName));
  return [...new Set(stellar.filter((f) => copyOfDeclaration(f.fileName) === undefined).map((f) => relative(f.fileName)))];
}

// ---------------------------------------------------------------------------------------------
// The probe: crosses every way (lines marked `// cross`), and passes plain data (the others)

const PROBE = path.join(ROOT, "test/foundation/sdk-copies.probe.ts");
const PROBE_TEXT = `
import * as S16 from "@stellar/stellar-sdk";
import * as S17 from "@stellar/stellar-sdk-17";
import * as S14 from "../../node_modules/@x402/stellar/node_modules/@stellar/stellar-sdk";
import { gatherAuthEntrySignatureStatus, getRpcClient } from "@x402/stellar";

const passphrase = S16.Networks.TESTNET;
const kp16 = S16.Keypair.random();
const tx16 = new S16.TransactionBuilder(new S16.Account(kp16.publicKey(), "1"), { fee: "100", networkPassphrase: passphrase }).setTimeout(30).build();
const kp17 = S17.Keypair.random();
const tx17 = new S17.TransactionBuilder(new S17.Account(kp17.publicKey(), "1"), { fee: "100", networkPassphrase: passphrase }).setTimeout(30).build();
const contract = "CBIELTK6YBZJU5UP2WWQEUCYKLPU6AUNZ2BQ4WWFEIE3USCIHMXQDAMA";

gatherAuthEntrySignatureStatus({ transaction: tx16 }); // cross
void getRpcClient("stellar:testnet").simulateTransaction(tx16); // cross
S16.Address.fromScVal(S14.nativeToScVal(1)); // cross
new S16.Contract(contract).call("transfer", S17.nativeToScVal(1n)); // cross
S14.nativeToScVal(S16.Address.fromString(kp16.publicKey())); // cross
export const kp: S16.Keypair = S17.Keypair.random(); // cross
export function asTransaction16(): S16.Transaction { return tx17; } // cross
async function sign16(preimage: S16.xdr.HashIdPreimage) { return kp16.sign(S16.hash(preimage.toXDR())); }
void S14.authorizeEntry(S14.xdr.SorobanAuthorizationEntry.fromXDR("", "base64"), sign16, 1, passphrase); // cross
export const isTransaction16 = (t: S14.Transaction) => t instanceof S16.Transaction; // cross
export const isU32 = (v: S14.xdr.ScVal) => v.switch() === S16.xdr.ScValType.scvU32(); // cross
export const payload = { transaction: tx17 };
export const relayed: { transaction: S16.Transaction } = payload; // cross

S16.TransactionBuilder.fromXDR(tx17.toXDR(), passphrase);
S16.Keypair.fromSecret(kp17.secret());
gatherAuthEntrySignatureStatus({ transaction: S14.TransactionBuilder.fromXDR(tx16.toXDR(), passphrase) as S14.Transaction });
S14.Address.fromString(S16.Address.fromString(kp16.publicKey()).toString());
void S17.authorizeEntry(S17.xdr.SorobanAuthorizationEntry.fromXDR(S16.xdr.SorobanAuthorizationEntry.fromXDR("", "base64").toXDR("base64"), "base64"), kp17, 1);
export const amount = S16.scValToNative(S16.xdr.ScVal.fromXDR(S17.nativeToScVal(5n).toXDR("base64"), "base64")) as bigint;
`;

function crossLines(text: string): number[] {
  return text.split("\n").flatMap((line, i) => (line.includes("// cross") ? [i + 1] : []));
}

// ---------------------------------------------------------------------------------------------

describe("SDK objects stay in their copy of @stellar/stellar-sdk", () => {
  let config: ts.ParsedCommandLine;
  let host: ts.CompilerHost;
  let program: ts.Program;

  beforeAll(() => {
    config = projectConfig();
    host = createHost(config.options, new Map([[PROBE, PROBE_TEXT]]));
    program = ts.createProgram({ rootNames: config.fileNames, options: config.options, host });
  });

  it("knows every copy in node_modules, at the versions its labels name", () => {
    for (const [dir, major] of COPY_VERSIONS) {
      const { version } = JSON.parse(readFileSync(path.join(ROOT, dir, "package.json"), "utf8")) as { version: string };
      expect(`${dir}@${version.split(".")[0]}`).toBe(`${dir}@${major}`);
    }
    expect(unknownCopies(program)).toEqual([]);
  });

  it("reports each crossing line of a probe, and none of its plain-data lines", () => {
    const probe = ts.createProgram({ rootNames: [PROBE], options: config.options, host, oldProgram: program });
    const { violations } = scan(probe, [PROBE]);
    const reported = [...new Set(violations.map((v) => v.line))].sort((a, b) => a - b);
    expect(reported, format(violations)).toEqual(crossLines(PROBE_TEXT));
    expect(filesSeeingOtherCopies([PROBE], config.options, host)).toEqual([PROBE]);
  });

  it("finds no SDK object of one copy reaching code of another in apps, libs and test", () => {
    const files = filesSeeingOtherCopies(config.fileNames, config.options, host);
    const { violations, carried, calls } = scan(program, files);
    expect(format(violations)).toBe("");
    expect(files.length).toBeGreaterThan(0);
    // Not vacuous: the scan resolved each copy's types and saw calls into @x402/stellar and the 17.
    expect(carried.sdk16).toBeGreaterThan(100);
    expect(carried.sdk17).toBeGreaterThan(0);
    expect(calls.sdk14).toBeGreaterThan(0);
    expect(calls.sdk17).toBeGreaterThan(0);
  });
});
