/** `llmarket model make ...`: generates a deterministic GGUF model (scripts/model-make.ts). */
import { spawn } from "node:child_process";

export const summary = "generate GGUF models";

export async function run(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === "--help" || sub === "-h") {
    console.log("Usage: llmarket model make [options]   (see `llmarket model make --help`)");
    return 0;
  }
  if (sub !== "make") {
    console.error(`llmarket model: unknown subcommand "${sub}" (try: make)`);
    return 2;
  }
  const script = new URL("../../../scripts/model-make.ts", import.meta.url).pathname;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, ...rest], { stdio: "inherit" });
    child.on("close", (code) => resolve(code ?? 1));
  });
}
