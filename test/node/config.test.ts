/**
 * Node agent configuration (flags > environment > file, validation, help), key loading (raw hex,
 * keystore v3, environment), the bid cost model, the fault switch and its refusal on non-dev chains,
 * the signer cache, the request path's fast EIP-712 digests, and hash-only job inputs (fetched over
 * HTTP and from files, refused with a reason: mismatch, malformed, too large, unreachable).
 */
import { createCipheriv, randomBytes, scryptSync } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { bytesToHex, concat, keccak256, toHex, type Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { ConfigError } from "../../agents/lib/errors.ts";
import { priceBid } from "../../agents/node/BidPricer.ts";
import { FaultInjector } from "../../agents/node/FaultInjector.ts";
import { FastDigest } from "../../agents/node/FastDigest.ts";
import { inputHash, receiptDigest, ticketDigest, type Ticket } from "../../agents/lib/encodings.ts";
import { JobInputError, fetchJobInput } from "../../agents/node/JobInputFetcher.ts";
import { NodeAgent } from "../../agents/node/NodeAgent.ts";
import { NODE_HELP, loadNodeConfig } from "../../agents/node/NodeConfig.ts";
import { decryptKeystore, loadNodeKey } from "../../agents/node/NodeKey.ts";
import { SignerCache, recoverSigner } from "../../agents/node/recoverSigner.ts";
import { devKey } from "./nodeHarness.ts";

const dir = mkdtempSync(join(tmpdir(), "llmarket-node-config-"));

describe("node config", () => {
  it("merges flags over environment over file, with defaults", () => {
    const file = join(dir, "c.json");
    writeFileSync(
      file,
      JSON.stringify({ threads: 3, listen: "127.0.0.1:9000", models: ["a.gguf:5"], batchMaxLeaves: 7 }),
    );
    const c = loadNodeConfig(
      ["--config", file, "--threads", "2", "--model", "b.gguf:9", "--fault", "wrong-output:0.25"],
      {
        LLMARKET_NODE_THREADS: "4",
        LLMARKET_NODE_LISTEN: "127.0.0.1:9100",
      },
    );
    expect(c.threads).toBe(2);
    expect(c.listen).toBe("127.0.0.1:9100");
    expect(c.batchMaxLeaves).toBe(7);
    expect(c.models).toEqual([{ source: "b.gguf", pricePerToken: 9n }]);
    expect(c.fault).toEqual({ kind: "wrong-output", probability: 0.25 });
    expect(c.pollMs).toBe(500);
    expect(c.auctions).toBe(true);
  });

  it("rejects bad values with a clear ConfigError", () => {
    expect(() => loadNodeConfig([], {})).toThrow(/--model/);
    expect(() => loadNodeConfig(["--model", "x.gguf"], {})).toThrow(ConfigError);
    expect(() => loadNodeConfig(["--model", "x.gguf:1", "--threads", "zero"], {})).toThrow(/number/);
    expect(() => loadNodeConfig(["--model", "x.gguf:1", "--fault", "wrong-output:2"], {})).toThrow(ConfigError);
    expect(() => loadNodeConfig(["--model", "x.gguf:1", "--bogus"], {})).toThrow(/Unknown option/);
  });

  it("documents every option with its default", () => {
    for (const flag of ["--rpc-url", "--key-file", "--model", "--threads", "--batch-max-leaves", "--fault", "--listen"])
      expect(NODE_HELP).toContain(flag);
    expect(NODE_HELP).toContain("127.0.0.1:8700");
  });
});

describe("node key", () => {
  const key = devKey(1);
  const address = privateKeyToAccount(key).address;

  it("reads a raw hex key file and LLMARKET_NODE_KEY", () => {
    const f = join(dir, "raw.key");
    writeFileSync(f, `${key}\n`);
    expect(loadNodeKey({ keyFile: f }, {}).address).toBe(address);
    expect(loadNodeKey({}, { LLMARKET_NODE_KEY: key }).address).toBe(address);
    expect(() => loadNodeKey({}, {})).toThrow(/No node key/);
  });

  it("decrypts a scrypt keystore v3 and refuses a wrong password without echoing the key", () => {
    const salt = randomBytes(32);
    const iv = randomBytes(16);
    const dk = scryptSync("pw", salt, 32, { N: 1024, r: 8, p: 1 });
    const cipher = createCipheriv("aes-128-ctr", dk.subarray(0, 16), iv);
    const ct = Buffer.concat([cipher.update(Buffer.from(key.slice(2), "hex")), cipher.final()]);
    const mac = keccak256(concat([bytesToHex(dk.subarray(16, 32)), bytesToHex(ct)])).slice(2);
    const ks = JSON.stringify({
      version: 3,
      crypto: {
        cipher: "aes-128-ctr",
        ciphertext: ct.toString("hex"),
        cipherparams: { iv: iv.toString("hex") },
        kdf: "scrypt",
        kdfparams: { dklen: 32, salt: salt.toString("hex"), n: 1024, r: 8, p: 1 },
        mac,
      },
    });
    expect(decryptKeystore(ks, "pw")).toBe(key);
    const f = join(dir, "ks.json");
    const pw = join(dir, "pw.txt");
    writeFileSync(f, ks);
    writeFileSync(pw, "pw\n");
    expect(loadNodeKey({ keyFile: f, keyPasswordFile: pw }, {}).address).toBe(address);
    let message = "";
    try {
      decryptKeystore(ks, "wrong");
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/Wrong keystore password/);
    expect(message).not.toContain(key.slice(2, 20));
  });
});

describe("bid pricing and fault switch", () => {
  const base = {
    costPerToken: 1000n,
    marginBps: 2000,
    queued: 0,
    queueCapacity: 10,
    reservePerToken: 10_000n,
    maxTokens: 100,
    tokensPerSecond: 100,
    secondsUntilDeadline: 600,
  };

  it("prices cost x margin x load, never above the reserve or past the deadline", () => {
    expect(priceBid(base)).toEqual({ bid: true, pricePerToken: 1200n });
    expect(priceBid({ ...base, queued: 5 })).toEqual({ bid: true, pricePerToken: 1800n });
    expect(priceBid({ ...base, reservePerToken: 1000n }).bid).toBe(false);
    expect(priceBid({ ...base, tokensPerSecond: 0.1 }).bid).toBe(false);
    expect(priceBid({ ...base, costPerToken: 0n })).toEqual({ bid: true, pricePerToken: 1n });
  });

  it("makes the configured share of outputs wrong", () => {
    let x = 0;
    const f = new FaultInjector({ kind: "wrong-output", probability: 0.5 }, () => (x++ % 2 === 0 ? 0.1 : 0.9));
    const t = f.pick(100)!;
    expect(t).not.toBeNull();
    const tokens = Array.from({ length: 16 }, (_, i) => i + 10);
    expect(tokens.map(t)).not.toEqual(tokens);
    expect(f.pick(100)).toBeNull();
    expect(new FaultInjector(undefined).pick(100)).toBeNull();
  });

  it("refuses --fault on a chain that is not a dev chain", async () => {
    const dep = join(dir, "1.json");
    writeFileSync(
      dep,
      JSON.stringify({
        chainId: 1,
        deployBlock: 0,
        deployedAt: "x",
        commit: "x",
        deployer: `0x${"11".repeat(20)}`,
        token: { address: `0x${"22".repeat(20)}`, isTestToken: false },
        contracts: {},
      }),
    );
    const c = loadNodeConfig(
      ["--model", "x.gguf:1", "--deployments", dep, "--fault", "wrong-output:0.2", "--data-dir", join(dir, "d")],
      { LLMARKET_NODE_KEY: devKey(1) },
    );
    process.env.LLMARKET_NODE_KEY = devKey(1);
    try {
      await expect(NodeAgent.start(c)).rejects.toThrow(/--fault is refused on chain 1/);
    } finally {
      delete process.env.LLMARKET_NODE_KEY;
    }
  });
});

describe("signer cache", () => {
  it("accepts exactly the signatures ecrecover maps to the signer, on the cached fast path too", async () => {
    const cache = new SignerCache();
    for (let i = 0; i < 4; i++) {
      const acc = privateKeyToAccount(generatePrivateKey());
      const other = privateKeyToAccount(generatePrivateKey());
      for (let j = 0; j < 4; j++) {
        const hash = keccak256(toHex(`message ${i} ${j}`));
        const sig = await acc.sign({ hash });
        expect(cache.verify(acc.address, hash, sig)).toBe(true); // j = 0 recovers, then cached
        expect(recoverSigner(hash, sig)?.toLowerCase()).toBe(acc.address.toLowerCase());
        const flipped = `${sig.slice(0, -2)}${sig.endsWith("1b") ? "1c" : "1b"}` as Hex;
        expect(cache.verify(acc.address, hash, flipped)).toBe(false);
        expect(cache.verify(acc.address, keccak256(toHex(`other ${i} ${j}`)), sig)).toBe(false);
        expect(cache.verify(other.address, hash, sig)).toBe(false);
        expect(cache.verify(acc.address, hash, "0x1234")).toBe(false);
      }
    }
  });
});

describe("fast digests", () => {
  it("equal the encodings' ticket and receipt digests for random messages", () => {
    const d = { chainId: 31337, verifyingContract: privateKeyToAccount(generatePrivateKey()).address };
    const fast = new FastDigest(d);
    const h32 = () => bytesToHex(randomBytes(32));
    for (let i = 0; i < 20; i++) {
      const ticket: Ticket = {
        requester: privateKeyToAccount(generatePrivateKey()).address,
        node: privateKeyToAccount(generatePrivateKey()).address,
        model: h32(),
        adapter: h32(),
        input: h32(),
        maxTokens: randomBytes(4).readUInt32BE(0),
        pricePerToken: BigInt(h32()),
        sequence: BigInt(h32()) >> 192n,
        expiry: BigInt(h32()) >> 192n,
        profile: h32(),
      };
      expect(fast.ticket(ticket)).toBe(ticketDigest(ticket, d.chainId, d.verifyingContract));
      const receipt = { ticket: h32(), output: h32(), tokens: randomBytes(4).readUInt32BE(0) };
      expect(fast.receipt(receipt)).toBe(receiptDigest(receipt, d.chainId, d.verifyingContract));
    }
  });
});

describe("hash-only job inputs", () => {
  it("returns a document only when its hash is the job's, with a clear reason otherwise", async () => {
    const good = { prompt: "A job input", stop: ["\n"], seed: "42" };
    const job = {
      maxTokens: 8,
      inputHash: inputHash({ prompt: good.prompt, maxTokens: 8, stop: ["\n"], seed: 42n }),
    };
    const big = "x".repeat(2048);
    const server = createServer((req, res) => {
      if (req.url === "/good") res.end(JSON.stringify(good));
      else if (req.url === "/not-json") res.end("prompt=hi");
      else if (req.url === "/wrong-type") res.end(JSON.stringify({ prompt: 7 }));
      else if (req.url === "/big") res.end(JSON.stringify({ prompt: big }));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const limits = { maxBytes: 1024, timeoutMs: 5000 };
    const reason = (p: Promise<unknown>) =>
      p.then(
        () => "ok",
        (e: unknown) => (e instanceof JobInputError ? e.reason : `unexpected ${String(e)}`),
      );
    try {
      expect(await fetchJobInput(`${base}/good`, job, limits)).toEqual({ ...good, seed: 42n, maxTokens: 8 });
      const file = join(dir, "input.json");
      writeFileSync(file, JSON.stringify(good));
      expect((await fetchJobInput(pathToFileURL(file).href, job, limits)).prompt).toBe(good.prompt);
      // Same document, other maxTokens: a different hash.
      expect(await reason(fetchJobInput(`${base}/good`, { ...job, maxTokens: 9 }, limits))).toBe("mismatch");
      expect(await reason(fetchJobInput(`${base}/not-json`, job, limits))).toBe("malformed");
      expect(await reason(fetchJobInput(`${base}/wrong-type`, job, limits))).toBe("malformed");
      expect(await reason(fetchJobInput(`${base}/big`, job, limits))).toBe("too_large");
      expect(await reason(fetchJobInput(`${base}/missing`, job, limits))).toBe("unreachable");
      expect(await reason(fetchJobInput("file:///dev/zero", job, limits))).toBe("unreachable");
      expect(await reason(fetchJobInput(pathToFileURL(join(dir, "nope.json")).href, job, limits))).toBe("unreachable");
      expect(await reason(fetchJobInput("ipfs://bafy", job, limits))).toBe("malformed");
      const e = await fetchJobInput(`${base}/good`, { ...job, maxTokens: 9 }, limits).catch((x: unknown) => x);
      expect((e as Error).message).toMatch(/not the posted inputHash .*refusing the job/);
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
