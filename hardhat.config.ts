import { createRequire } from "node:module";
import { defineConfig } from "hardhat/config";
import hardhatToolboxViem from "@nomicfoundation/hardhat-toolbox-viem";

// Hardhat downloads solc from a host this machine cannot reach; the `solc` npm package ships the
// same compiler as wasm (soljson.js). `version` must equal the package's version.
const require = createRequire(import.meta.url);
const SOLC_VERSION = "0.8.34";
const solcPath = require.resolve("solc/soljson.js");

export default defineConfig({
  plugins: [hardhatToolboxViem],
  solidity: {
    profiles: {
      default: {
        version: SOLC_VERSION,
        path: solcPath,
        settings: {
          evmVersion: "osaka",
          optimizer: { enabled: true, runs: 200 },
        },
      },
    },
  },
  paths: {
    sources: "./contracts",
    tests: {
      solidity: "./test/contracts",
    },
  },
  test: {
    solidity: {
      fsPermissions: { readFile: ["./spec/vectors.json"] },
      fuzz: { runs: 256 },
      invariant: { runs: 64, depth: 32, failOnRevert: false },
    },
  },
  networks: {
    hardhatMainnet: { type: "edr-simulated", chainType: "l1" },
    localhost: { type: "http", chainType: "l1", url: "http://127.0.0.1:8545" },
  },
});
