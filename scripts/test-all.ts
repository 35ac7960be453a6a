/**
 * `npm test`: builds, runs every check and every test runner, and ends with one line
 * `N passed, N failed` summed over all of them (each lint/format/type check counts as one test).
 *
 *   node scripts/test-all.ts [--only sol|ts|lint] [--help]
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    only: { type: "string" },
    help: { type: "boolean", short: "h", default: false },
  },
});

if (values.help) {
  console.log(`Usage: npm test [-- --only sol|ts|lint]

Runs, in order: build (hardhat build + ABI generation), prettier --check, solhint (warnings are
errors), tsc --noEmit (strict), the spec vector check, Hardhat Solidity tests (unit, fuzz,
invariant) and vitest. Prints "N passed, N failed" last; exits non-zero when anything failed.`);
  process.exit(0);
}

process.env.HARDHAT_DISABLE_TELEMETRY = "true";
process.env.FORCE_COLOR ??= "0";

type Result = { name: string; passed: number; failed: number };
const results: Result[] = [];

function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"], env: process.env });
    let output = "";
    const onData = (d: Buffer): void => {
      output += d.toString();
      process.stdout.write(d);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("close", (code) => resolve({ code: code ?? 1, output }));
    child.on("error", (err) => resolve({ code: 1, output: String(err) }));
  });
}

async function check(name: string, cmd: string, args: string[]): Promise<boolean> {
  console.log(`\n=== ${name}: ${cmd} ${args.join(" ")}`);
  const { code } = await run(cmd, args);
  results.push({ name, passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1 });
  return code === 0;
}

async function solidityTests(): Promise<void> {
  console.log("\n=== Solidity tests: hardhat test solidity");
  const { code, output } = await run("npx", ["hardhat", "test", "solidity"]);
  const plain = output.replace(/\x1b\[[0-9;]*m/g, "");
  const passed = Number(/(\d+) passing/.exec(plain)?.[1] ?? 0);
  let failed = Number(/(\d+) failing/.exec(plain)?.[1] ?? 0);
  if (code !== 0 && failed === 0) failed = 1; // the runner itself failed (compile error, crash)
  results.push({ name: "solidity", passed, failed });
}

async function vitest(): Promise<void> {
  console.log("\n=== TypeScript tests: vitest run");
  const out = ".data/vitest-results.json";
  mkdirSync(".data", { recursive: true });
  rmSync(out, { force: true });
  const { code } = await run("npx", [
    "vitest",
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${out}`,
  ]);
  let passed = 0;
  let failed = 0;
  try {
    const r = JSON.parse(readFileSync(out, "utf8")) as {
      numPassedTests: number;
      numFailedTests: number;
      numFailedTestSuites: number;
    };
    passed = r.numPassedTests;
    failed = r.numFailedTests + (r.numFailedTests === 0 ? r.numFailedTestSuites : 0);
  } catch {
    failed = 1;
  }
  if (code !== 0 && failed === 0) failed = 1;
  results.push({ name: "vitest", passed, failed });
}

const only = values.only;
const buildOk = await check("build", "npm", ["run", "--silent", "build"]);
if (!buildOk) {
  console.error("\nThe build failed; nothing else can run.");
} else {
  if (!only || only === "lint") {
    await check("prettier", "npx", ["prettier", "--check", "."]);
    await check("solhint", "npx", ["solhint", "--max-warnings", "0", "contracts/**/*.sol"]);
    await check("tsc", "npx", ["tsc", "-p", "tsconfig.json", "--noEmit"]);
    await check("spec vectors", "node", ["scripts/gen-vectors.ts", "--check"]);
  }
  if (!only || only === "sol") await solidityTests();
  if (!only || only === "ts") await vitest();
}

console.log("\n=== Summary");
for (const r of results) console.log(`${r.name.padEnd(14)} ${r.passed} passed, ${r.failed} failed`);
const passed = results.reduce((s, r) => s + r.passed, 0);
const failed = results.reduce((s, r) => s + r.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 && buildOk ? 0 : 1);
