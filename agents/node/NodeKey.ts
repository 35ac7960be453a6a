/**
 * Loads the node's signing key: a raw 0x hex key file, an Ethereum keystore v3 JSON (scrypt or
 * pbkdf2, aes-128-ctr, as written by geth, ethers and viem tools), or LLMARKET_NODE_KEY. The key is
 * returned as a viem account and never logged or echoed in errors.
 */
import { createDecipheriv, pbkdf2Sync, scryptSync } from "node:crypto";
import { readFileSync } from "node:fs";
import { bytesToHex, concat, hexToBytes, keccak256, type Hex } from "viem";
import { privateKeyToAccount, type PrivateKeyAccount } from "viem/accounts";
import { ConfigError } from "../lib/errors.ts";

const HEX_KEY = /^(0x)?[0-9a-fA-F]{64}$/;

type KeystoreV3 = {
  version: number;
  crypto?: KeystoreCrypto;
  Crypto?: KeystoreCrypto;
};
type KeystoreCrypto = {
  cipher: string;
  ciphertext: string;
  cipherparams: { iv: string };
  kdf: string;
  kdfparams: { dklen: number; salt: string; n?: number; r?: number; p?: number; c?: number; prf?: string };
  mac: string;
};

/** Decrypts a keystore v3 JSON with `password`; throws ConfigError on a wrong password. */
export function decryptKeystore(json: string, password: string): Hex {
  let ks: KeystoreV3;
  try {
    ks = JSON.parse(json) as KeystoreV3;
  } catch (cause) {
    throw new ConfigError("The key file is neither a 0x hex key nor keystore JSON.", { cause });
  }
  const c = ks.crypto ?? ks.Crypto;
  if (ks.version !== 3 || !c) throw new ConfigError("The keystore is not version 3: re-export it as keystore v3.");
  if (c.cipher !== "aes-128-ctr") throw new ConfigError(`Keystore cipher ${c.cipher} is not supported (aes-128-ctr).`);
  const salt = Buffer.from(c.kdfparams.salt.replace(/^0x/, ""), "hex");
  let derived: Buffer;
  if (c.kdf === "scrypt") {
    const { n = 262144, r = 8, p = 1, dklen } = c.kdfparams;
    derived = scryptSync(password, salt, dklen, { N: n, r, p, maxmem: 256 * n * r + 1024 * 1024 });
  } else if (c.kdf === "pbkdf2") {
    derived = pbkdf2Sync(password, salt, c.kdfparams.c ?? 262144, c.kdfparams.dklen, "sha256");
  } else throw new ConfigError(`Keystore kdf ${c.kdf} is not supported (scrypt, pbkdf2).`);
  const ciphertext = hexToBytes(`0x${c.ciphertext.replace(/^0x/, "")}`);
  const mac = keccak256(concat([bytesToHex(derived.subarray(16, 32)), bytesToHex(ciphertext)]));
  if (mac.slice(2).toLowerCase() !== c.mac.replace(/^0x/, "").toLowerCase()) {
    throw new ConfigError("Wrong keystore password (MAC mismatch): check --key-password-file.");
  }
  const decipher = createDecipheriv("aes-128-ctr", derived.subarray(0, 16), Buffer.from(c.cipherparams.iv, "hex"));
  const key = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  return `0x${key.toString("hex")}`;
}

/** The node's account from --key-file (+ password file) or LLMARKET_NODE_KEY. */
export function loadNodeKey(
  o: { keyFile?: string | undefined; keyPasswordFile?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): PrivateKeyAccount {
  let key: string | undefined;
  if (o.keyFile) {
    let text: string;
    try {
      text = readFileSync(o.keyFile, "utf8").trim();
    } catch (cause) {
      throw new ConfigError(`Cannot read the key file ${o.keyFile}.`, { cause });
    }
    if (HEX_KEY.test(text)) key = text;
    else {
      const password =
        o.keyPasswordFile !== undefined
          ? readFileSync(o.keyPasswordFile, "utf8").replace(/\r?\n$/, "")
          : env.LLMARKET_NODE_KEY_PASSWORD;
      if (password === undefined) {
        throw new ConfigError(
          "The key file is a keystore: give its password with --key-password-file or LLMARKET_NODE_KEY_PASSWORD.",
        );
      }
      key = decryptKeystore(text, password);
    }
  } else if (env.LLMARKET_NODE_KEY) key = env.LLMARKET_NODE_KEY.trim();
  if (!key) throw new ConfigError("No node key: pass --key-file <file> or set LLMARKET_NODE_KEY.");
  if (!HEX_KEY.test(key)) throw new ConfigError("The node key must be 32 bytes of hex (0x followed by 64 hex digits).");
  return privateKeyToAccount((key.startsWith("0x") ? key : `0x${key}`) as Hex);
}
