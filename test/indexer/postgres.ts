/**
 * A throwaway PostgreSQL server for tests: initdb into a temp dir, pg_ctl start on 127.0.0.1 on a
 * free port (socket in the data dir), stopped with pg_ctl by data dir. Binaries come from
 * /usr/lib/postgresql/<version>/bin (Debian; scripts/ci/install-postgres.sh installs them).
 * initdb and postgres refuse to run as root: as root the commands run as the `postgres` user
 * through `runuser`, on a data dir chowned to it.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "../../scripts/lib/localChain.ts";

export type TestPostgres = { url: string; stop: () => Promise<void> };

/** The newest /usr/lib/postgresql/<v>/bin holding initdb, or undefined. */
export function findPostgresBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], "bin") : undefined;
}

export async function startTestPostgres(bin: string): Promise<TestPostgres> {
  const isRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), "llmarket-pg-"));
  const data = join(dir, "data");
  const run = (cmd: string, args: string[]): string => {
    const [file, argv] = isRoot
      ? ["runuser", ["-u", "postgres", "--", join(bin, cmd), ...args]]
      : [join(bin, cmd), args];
    return execFileSync(file, argv, { stdio: ["ignore", "pipe", "pipe"], cwd: dir }).toString();
  };
  if (isRoot) {
    execFileSync("chown", ["postgres:postgres", dir]);
    chmodSync(dir, 0o700);
  }
  run("initdb", ["-D", data, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const port = await freePort();
  run("pg_ctl", [
    "-D",
    data,
    "-l",
    join(dir, "postgres.log"),
    "-w",
    "-t",
    "60",
    "-o",
    `-p ${port} -h 127.0.0.1 -k ${dir} -c fsync=off -c synchronous_commit=off -c full_page_writes=off`,
    "start",
  ]);
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      try {
        run("pg_ctl", ["-D", data, "-m", "fast", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
