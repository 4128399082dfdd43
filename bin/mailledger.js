#!/usr/bin/env node
// The mailledger executable. The sources are TypeScript that Node 24 runs directly.
const [major] = process.versions.node.split(".").map(Number);
if (major < 24) {
  process.stderr.write(
    `mailledger needs Node.js 24 or newer (this is ${process.version}). Run it through npm (\`npm run mailledger -- ...\`), which uses the node@24 devDependency, or put node_modules/.bin first on PATH.\n`,
  );
  process.exit(1);
}
await import("../src/main.ts");
