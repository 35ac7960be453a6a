/**
 * Fetches a registered model's GGUF from its ModelRegistry URI (http(s):// or file://) into the
 * data directory and checks its sha256 against the model id before anything serves it.
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import type { Hex } from "viem";
import { LLMarketError } from "../lib/errors.ts";

/** The fetched file's sha256 is not the model id, or the URI cannot be read. */
export class ModelFetchError extends LLMarketError {}

async function sha256Of(path: string): Promise<string> {
  const h = createHash("sha256");
  await pipeline(createReadStream(path), h);
  return h.digest("hex");
}

/** Returns a local path holding the model `id` (fetched from `uri` if not cached), verified. */
export async function fetchModel(id: Hex, uri: string, dir: string): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const want = id.slice(2).toLowerCase();
  const dest = join(dir, `${want}.gguf`);
  if (existsSync(dest) && (await sha256Of(dest)) === want) return dest;
  const tmp = `${dest}.${process.pid}.part`;
  try {
    if (uri.startsWith("file://")) {
      await pipeline(createReadStream(fileURLToPath(uri)), createWriteStream(tmp));
    } else if (/^https?:\/\//.test(uri)) {
      const res = await fetch(uri);
      if (!res.ok || !res.body) throw new ModelFetchError(`GET ${uri} answered ${res.status}.`);
      await pipeline(Readable.fromWeb(res.body as never), createWriteStream(tmp));
    } else {
      throw new ModelFetchError(`Model ${id} has URI "${uri}", which is neither http(s):// nor file://.`);
    }
  } catch (cause) {
    rmSync(tmp, { force: true });
    if (cause instanceof ModelFetchError) throw cause;
    throw new ModelFetchError(`Cannot fetch model ${id} from ${uri}: ${(cause as Error).message}`, { cause });
  }
  const got = await sha256Of(tmp);
  if (got !== want) {
    rmSync(tmp, { force: true });
    throw new ModelFetchError(
      `Model fetched from ${uri} has sha256 0x${got}, not the registered id ${id}: refusing to serve it. Fix the registry URI or the file.`,
      { details: { id, uri, sha256: got } },
    );
  }
  renameSync(tmp, dest);
  return dest;
}
