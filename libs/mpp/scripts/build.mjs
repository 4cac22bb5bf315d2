// Builds @quay/mpp for npm: tsc (JavaScript + .d.ts) into dist/, then the package's manifest for
// dist/ (subpath exports, mppx and @stellar/stellar-sdk as peer dependencies, nothing else).
// `npm pack ./dist` (or `npm run pack -w @quay/mpp`) makes the tarball.
import { execFileSync } from "node:child_process";
import { copyFileSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const source = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.build.json")], { stdio: "inherit" });

const entry = (path) => ({ types: `./${path}.d.ts`, import: `./${path}.js`, default: `./${path}.js` });
const manifest = {
  name: source.name,
  version: source.version,
  description: source.description,
  type: "module",
  engines: { node: ">=20.19" },
  sideEffects: false,
  main: "./index.js",
  types: "./index.d.ts",
  exports: {
    ".": entry("index"),
    "./charge/server": entry("charge/server"),
    "./charge/client": entry("charge/client"),
    "./channel/server": entry("channel/server"),
    "./channel/client": entry("channel/client"),
    "./channel": entry("channel/index"),
    "./package.json": "./package.json",
  },
  peerDependencies: source.peerDependencies,
};
writeFileSync(join(dist, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
copyFileSync(join(root, "README.md"), join(dist, "README.md"));
console.log(`built ${manifest.name}@${manifest.version} in ${dist}`);
