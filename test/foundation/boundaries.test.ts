/**
 * The folder tells the architecture, and this keeps it true. Every import in apps/<app>/src and
 * libs/<lib>/src (static imports, `import type`, `export … from`, dynamic `import()`, `import("x").T`
 * types, `import x = require()`) is read with the TypeScript parser, and the test fails when:
 *   - an app imports another app (apps are processes; what two share belongs in a library);
 *   - a library imports an app;
 *   - a library imports a library of its own layer or one above it (LAYERS below);
 *   - a package imports a @quay/* or npm package its own package.json does not list in `dependencies`,
 *     or lists one it does not import (a listed npm package must carry the root package.json's
 *     version, the one installed);
 *   - a relative import reaches out of its own package (another package is reached by its name).
 * Node's built-in modules need no declaration.
 */
import { readdirSync, readFileSync } from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * The libraries bottom-up: a library may import only libraries of earlier layers. Derived from the
 * import graph; a new library must be placed here before the test passes.
 */
const LAYERS: ReadonlyArray<{ readonly why: string; readonly libs: readonly string[] }> = [
  {
    why: "foundations: configuration, logging, probes, secrets, storage, queues, local processes, buyers' tools, the devnet's contract code; they import no other Quay library",
    libs: ["config", "log", "health", "vault", "db", "queue", "localservices", "x402-buyer", "wasm"],
  },
  { why: "the Stellar network client and the API keys, built on configuration and storage", libs: ["stellar", "keys"] },
  {
    why: "what builds on the network client: metrics report its state, the pool leases accounts on it, MPP's payment method checks transfers with it",
    libs: ["metrics", "pool", "mpp"],
  },
  { why: "the settlement core and x402's checks, which submit through the pool and count in metrics", libs: ["settlement", "x402"] },
  { why: "protocol layers on the settlement core: MPP channels and the OZ Channels API create submissions", libs: ["channels", "sponsor"] },
  {
    why: "the parties around Quay in a local run (x402 seller and buyer, MPP servers and clients on MPP's payment method, channels deployed with the devnet's contract code); no Quay library imports them",
    libs: ["demo"],
  },
];

interface WorkspacePackage {
  readonly kind: "apps" | "libs";
  /** Its folder name, e.g. "stellar". */
  readonly folder: string;
  /** Its package name, e.g. "@quay/stellar". */
  readonly name: string;
  readonly dir: string;
  readonly dependencies: Readonly<Record<string, string>>;
}

interface ImportSite {
  readonly file: string;
  readonly line: number;
  /** The module specifier, or undefined for a dynamic import whose argument is not a string literal. */
  readonly specifier: string | undefined;
}

function workspacePackages(): WorkspacePackage[] {
  return (["apps", "libs"] as const).flatMap((kind) =>
    readdirSync(path.join(ROOT, kind), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => {
        const dir = path.join(ROOT, kind, entry.name);
        const json = JSON.parse(readFileSync(path.join(dir, "package.json"), "utf8")) as { name: string; dependencies?: Record<string, string> };
        return { kind, folder: entry.name, name: json.name, dir, dependencies: json.dependencies ?? {} };
      }),
  );
}

function sourceFiles(dir: string): string[] {
  return readdirSync(path.join(dir, "src"), { recursive: true, encoding: "utf8" })
    .filter((file) => file.endsWith(".ts"))
    .map((file) => path.join(dir, "src", file));
}

/** Every place a file names another module. */
function importsOf(file: string): ImportSite[] {
  return importsIn(file, readFileSync(file, "utf8"));
}

function importsIn(file: string, text: string): ImportSite[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const sites: ImportSite[] = [];
  const add = (node: ts.Node, specifier: string | undefined) =>
    sites.push({ file, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1, specifier });
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      add(node, node.moduleSpecifier.text);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const expression = node.moduleReference.expression;
      add(node, ts.isStringLiteralLike(expression) ? expression.text : undefined);
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const argument = node.arguments[0];
      add(node, argument && ts.isStringLiteralLike(argument) ? argument.text : undefined);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      add(node, node.argument.literal.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return sites;
}

/** "@scope/name/sub/path" → "@scope/name"; "name/sub" → "name". */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

function isBuiltin(specifier: string): boolean {
  return specifier.startsWith("node:") || builtinModules.includes(packageOf(specifier));
}

/** Each rule broken, one line each: where, what it imports, and which rule. */
function violations(packages: readonly WorkspacePackage[]): string[] {
  const byName = new Map(packages.map((p) => [p.name, p]));
  const layerOf = new Map(LAYERS.flatMap((layer, index) => layer.libs.map((lib) => [lib, index] as const)));
  const rootJson = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  };
  const rootVersions: Record<string, string> = { ...rootJson.devDependencies, ...rootJson.dependencies };
  const found: string[] = [];

  for (const pkg of packages) {
    const where = (site: ImportSite) => `${path.relative(ROOT, site.file)}:${site.line}`;
    const own = `${pkg.kind}/${pkg.folder}`;
    if (pkg.kind === "libs" && !layerOf.has(pkg.folder)) found.push(`${own} is in no layer: place it in LAYERS of this test`);
    for (const [dependency, version] of Object.entries(pkg.dependencies)) {
      if (!dependency.startsWith("@quay/") && rootVersions[dependency] !== version) {
        found.push(`${own}/package.json lists ${dependency}@${version}, the root package.json has ${rootVersions[dependency] ?? "no such package"}`);
      }
    }

    const imported = new Set<string>();
    for (const site of sourceFiles(pkg.dir).flatMap(importsOf)) {
      const { specifier } = site;
      if (specifier === undefined) {
        found.push(`${where(site)} imports a computed module name, which this check cannot follow: name the module literally`);
        continue;
      }
      if (specifier.startsWith(".")) {
        const target = path.resolve(path.dirname(site.file), specifier);
        if (!target.startsWith(pkg.dir + path.sep)) {
          found.push(`${where(site)} imports "${specifier}", outside ${own}: import another package by its name`);
        }
        continue;
      }
      if (isBuiltin(specifier)) continue;
      const name = packageOf(specifier);
      imported.add(name);
      if (!(name in pkg.dependencies)) {
        found.push(`${where(site)} imports "${specifier}", which ${own}/package.json does not list in its dependencies`);
      }
      const target = byName.get(name);
      if (!target || target === pkg) continue;
      const them = `${target.kind}/${target.folder}`;
      if (target.kind === "apps") {
        found.push(`${where(site)} imports "${specifier}": ${pkg.kind === "apps" ? "an app may not import another app" : "a library may not import an app"} (${them})`);
      } else if (pkg.kind === "libs") {
        const mine = layerOf.get(pkg.folder);
        const theirs = layerOf.get(target.folder);
        if (mine !== undefined && theirs !== undefined && theirs >= mine) {
          found.push(
            `${where(site)} imports "${specifier}": ${own} (layer ${mine}) may import only libraries of layers below it, and ${them} is in layer ${theirs}`,
          );
        }
      }
    }
    for (const dependency of Object.keys(pkg.dependencies)) {
      if (!imported.has(dependency)) found.push(`${own}/package.json lists ${dependency}, which nothing in ${own}/src imports`);
    }
  }
  return found;
}

describe("declared boundaries", () => {
  const packages = workspacePackages();

  it("every app and library keeps to its place and declares what it imports", () => {
    expect(violations(packages)).toEqual([]);
  });

  it("the layer table names each library once, and only libraries that exist", () => {
    const placed = LAYERS.flatMap((layer) => layer.libs);
    const libs = packages.filter((p) => p.kind === "libs").map((p) => p.folder);
    expect(placed.filter((lib, i) => placed.indexOf(lib) !== i)).toEqual([]);
    expect(placed.filter((lib) => !libs.includes(lib))).toEqual([]);
  });

  it("reads every kind of import", () => {
    const probe = [
      'import a from "a";',
      'import type { B } from "b";',
      'export { c } from "c";',
      'export * from "d";',
      'const e = await import("e");',
      'type F = import("f").F;',
      'import g = require("g");',
      'const h = await import(name);',
      'const i = "not an import";',
    ].join("\n");
    expect(importsIn("probe.ts", probe).map((site) => [site.line, site.specifier])).toEqual([
      [1, "a"],
      [2, "b"],
      [3, "c"],
      [4, "d"],
      [5, "e"],
      [6, "f"],
      [7, "g"],
      [8, undefined],
    ]);
  });
});
