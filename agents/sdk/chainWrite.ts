/**
 * Sends a contract call: simulate (so a revert is reported with its decoded custom error before
 * any gas is spent), send, wait for the receipt. Failures are ChainErrors saying which call failed.
 */
import {
  BaseError,
  ContractFunctionRevertedError,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
  type WalletClient,
} from "viem";
import { ChainError } from "./errors.ts";

export async function chainWrite(
  pub: PublicClient,
  wallet: WalletClient,
  call: { address: Address; abi: Abi; functionName: string; args: readonly unknown[] },
  hint = "",
): Promise<{ hash: Hex; result: unknown }> {
  const account = wallet.account;
  if (!account) throw new ChainError("The wallet has no account: set LLMARKET_KEY or --key.");
  try {
    const sim = await pub.simulateContract({ ...call, account } as Parameters<PublicClient["simulateContract"]>[0]);
    const hash = await wallet.writeContract({
      ...(sim.request as object),
      chain: wallet.chain ?? null,
      account,
    } as Parameters<WalletClient["writeContract"]>[0]);
    const receipt = await pub.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success")
      throw new ChainError(`${call.functionName} reverted in transaction ${hash}.`, { details: { hash } });
    return { hash, result: sim.result };
  } catch (err) {
    if (err instanceof ChainError) throw err;
    let reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    if (err instanceof BaseError) {
      const revert = err.walk((e) => e instanceof ContractFunctionRevertedError);
      if (revert instanceof ContractFunctionRevertedError && revert.data?.errorName) {
        reason = `${revert.data.errorName}(${(revert.data.args ?? []).map(String).join(", ")})`;
      } else reason = err.shortMessage;
    }
    throw new ChainError(`${call.functionName} failed: ${reason}${hint ? `. ${hint}` : ""}`, {
      details: { call: call.functionName },
      cause: err,
    });
  }
}
