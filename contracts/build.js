#!/usr/bin/env node
// Compile contracts/AnchorRegistry.sol with the pinned solc (package.json) and write the committed
// build output: contracts/build/AnchorRegistry.json (ABI, bytecode, method ids, compiler + settings).
// The chain layer ships a byte-identical copy (layers/chain/python/agri_chain/AnchorRegistry.json),
// because a Lambda layer carries only layers/<name>/python.
//
//   npm run build:contracts            # rebuild both files
//   node contracts/build.js --check    # exit 1 if the committed files differ from a fresh compile
const fs = require("fs");
const path = require("path");
const crypto = require("crypto");
const solc = require("solc");

const ROOT = path.resolve(__dirname, "..");
const SOURCE = "AnchorRegistry.sol";
const OUTPUTS = [
  path.join(ROOT, "contracts", "build", "AnchorRegistry.json"),
  path.join(ROOT, "layers", "chain", "python", "agri_chain", "AnchorRegistry.json"),
];
// paris: the last EVM version before PUSH0 (shanghai); every node we target runs it (py-evm via
// eth-tester, ganache 7.9, Polygon, Ethereum).
const SETTINGS = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "paris",
  metadata: { bytecodeHash: "none" },
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object", "evm.methodIdentifiers"] } },
};

function build() {
  const source = fs.readFileSync(path.join(__dirname, SOURCE), "utf8");
  const input = { language: "Solidity", sources: { [SOURCE]: { content: source } }, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  if (errors.length) {
    throw new Error(errors.map((e) => e.formattedMessage).join("\n"));
  }
  const contract = output.contracts[SOURCE].AnchorRegistry;
  const doc = {
    contractName: "AnchorRegistry",
    source: `contracts/${SOURCE}`,
    sourceSha256: crypto.createHash("sha256").update(source).digest("hex"),
    compiler: { name: "solc", version: solc.version() },
    settings: { optimizer: SETTINGS.optimizer, evmVersion: SETTINGS.evmVersion, metadata: SETTINGS.metadata },
    rebuild: "npm run build:contracts",
    abi: contract.abi,
    methodIdentifiers: contract.evm.methodIdentifiers,
    bytecode: "0x" + contract.evm.bytecode.object,
    deployedBytecode: "0x" + contract.evm.deployedBytecode.object,
  };
  return JSON.stringify(doc, null, 2) + "\n";
}

const text = build();
if (process.argv.includes("--check")) {
  const stale = OUTPUTS.filter((file) => !fs.existsSync(file) || fs.readFileSync(file, "utf8") !== text);
  if (stale.length) {
    console.error("stale build output (run npm run build:contracts): " + stale.join(", "));
    process.exit(1);
  }
  console.log("contracts build output is up to date");
} else {
  for (const file of OUTPUTS) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    console.log("wrote " + path.relative(ROOT, file));
  }
}
