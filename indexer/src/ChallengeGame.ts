/**
 * ChallengeGame events -> challenge_commit, challenge, fraud_proof, challenge-credit withdrawals,
 * node and market aggregates. Reveals and answers are completed from the transaction's calldata
 * (revealChallenge: the salt, hence the commitment, and the batch's node; respondToChallenge: the
 * posted prompt and output). All challenge handlers live in this one file. Registers only when the
 * deployment has a ChallengeGame.
 */
import { ponder } from "ponder:registry";
import { challenge, challengeCommit, creditWithdrawal, fraudProof, leafStatus } from "ponder:schema";
import { decodeFunctionData, type Hex } from "viem";
import { challengeGameAbi } from "../../agents/lib/generated/abis.ts";
import { CHALLENGE_DATA, challengeCommitment, challengerOf } from "../../agents/lib/encodings.ts";
import { isDeployed } from "../indexerEnv.ts";
import { challengeKey, meta, setLink, updateMarket, updateNodeStats } from "../lib/store.ts";

/** IChallengeGame.ChallengeStatus by value. */
const STATUS = ["none", "open", "disputed", "cleared", "upheld", "committed"] as const;

function decodeGameCall(input: Hex) {
  try {
    return decodeFunctionData({ abi: challengeGameAbi, data: input });
  } catch {
    return undefined;
  }
}

if (isDeployed("ChallengeGame")) {
  ponder.on("ChallengeGame:ChallengeCommitted", async ({ event, context }) => {
    const { commitment, challengeId } = event.args;
    // The bond is taken at the reveal (from the slot's prepaid balance); a commitment may be sent
    // twice (an agent restarting), which changes nothing.
    await context.db
      .insert(challengeCommit)
      .values({
        commitment,
        challenger: challengerOf(challengeId),
        bond: 0n,
        status: "committed",
        challengeId: null,
        committedAt: event.block.timestamp,
      })
      .onConflictDoNothing();
  });

  ponder.on("ChallengeGame:ChallengeRevealed", async ({ event, context }) => {
    const { batchId, leafIndex, challengeId, kind, deadline, bond } = event.args;
    const challenger = challengerOf(challengeId);
    const id = challengeKey(batchId, leafIndex);
    let node: Hex | null = null;
    let commitment: Hex | null = null;
    const call = decodeGameCall(event.transaction.input);
    if (call?.functionName === "revealChallenge" && call.args[1] === batchId && call.args[3] === leafIndex) {
      node = call.args[2].node;
      commitment = challengeCommitment(batchId, leafIndex, kind, challenger, call.args[5]);
    }
    await context.db.insert(challenge).values({
      id,
      batchId,
      leafIndex,
      node,
      challenger,
      kind: kind === CHALLENGE_DATA ? "data" : "wrong_output",
      status: "open",
      commitment,
      deadline,
      leafHash: null,
      prompt: null,
      outputTokens: null,
      disputeId: null,
      resolver: null,
      bond,
      bondTo: null,
      slashed: null,
      revealedAt: event.block.timestamp,
      answeredAt: null,
      closedAt: null,
      txHash: event.transaction.hash,
    });
    // The settlement emits no LeafStatusChanged for the hold a reveal causes: record it here.
    await context.db
      .insert(leafStatus)
      .values({ batchId, leafIndex, status: "held", paid: null, updatedAt: event.block.timestamp })
      .onConflictDoUpdate({ status: "held", updatedAt: event.block.timestamp });
    if (commitment) {
      const c = await context.db.find(challengeCommit, { commitment });
      if (c)
        await context.db.update(challengeCommit, { commitment }).set({ status: "revealed", bond, challengeId: id });
    }
    if (node) await updateNodeStats(context.db, node, (n) => ({ challengesReceived: n.challengesReceived + 1 }));
    await updateMarket(context.db, event, (m) => ({ challenges: m.challenges + 1 }));
  });

  ponder.on("ChallengeGame:ChallengeAnswered", async ({ event, context }) => {
    const { batchId, leafIndex, leafHash } = event.args;
    let data: { prompt: string; tokens: readonly number[] } | undefined;
    const call = decodeGameCall(event.transaction.input);
    if (call?.functionName === "respondToChallenge" && call.args[1] === batchId && call.args[3].index === leafIndex) {
      data = call.args[5];
    }
    await context.db.update(challenge, { id: challengeKey(batchId, leafIndex) }).set({
      status: "answered",
      leafHash,
      prompt: data?.prompt ?? null,
      outputTokens: data ? data.tokens.length : null,
      answeredAt: event.block.timestamp,
    });
  });

  ponder.on("ChallengeGame:DisputeOpened", async ({ event, context }) => {
    const { batchId, leafIndex, resolver, disputeId } = event.args;
    await context.db
      .update(challenge, { id: challengeKey(batchId, leafIndex) })
      .set({ status: "disputed", disputeId, resolver });
  });

  ponder.on("ChallengeGame:ChallengeClosed", async ({ event, context }) => {
    const { batchId, leafIndex, status, bondTo, bond, slashed } = event.args;
    const name = STATUS[status] ?? `unknown_${status}`;
    const c = await context.db
      .update(challenge, { id: challengeKey(batchId, leafIndex) })
      .set({ status: name, bond, bondTo, slashed, closedAt: event.block.timestamp });
    const upheld = name === "upheld";
    if (c.node) {
      await updateNodeStats(context.db, c.node, (n) =>
        upheld ? { challengesLost: n.challengesLost + 1 } : { challengesWon: n.challengesWon + 1 },
      );
    }
    if (upheld) await updateMarket(context.db, event, (m) => ({ challengesUpheld: m.challengesUpheld + 1 }));
  });

  const proof = (kind: string) =>
    async function ({
      event,
      context,
    }: {
      event: {
        id: string;
        args: { batchId: bigint; leafIndex: number; reporter: Hex; slashed: bigint };
        block: { number: bigint; timestamp: bigint };
        transaction: { hash: Hex };
      };
      context: { db: Parameters<typeof updateMarket>[0] };
    }) {
      const { batchId, leafIndex, reporter, slashed } = event.args;
      await context.db
        .insert(fraudProof)
        .values({ id: event.id, kind, batchId, leafIndex, reporter, slashed, ...meta(event) });
    };
  ponder.on("ChallengeGame:EquivocationProven", proof("equivocation"));
  ponder.on("ChallengeGame:TicketMismatchProven", proof("ticket_mismatch"));

  ponder.on("ChallengeGame:SlotWithdrawn", async ({ event, context }) => {
    const { challengeId, amount } = event.args;
    await context.db
      .insert(creditWithdrawal)
      .values({ id: event.id, source: "challenge_slot", account: challengerOf(challengeId), amount, ...meta(event) });
  });

  ponder.on("ChallengeGame:CreditsWithdrawn", async ({ event, context }) => {
    // Bonds are credited in shares (node, challenger, committee) without a per-account event, so
    // only the withdrawals are recorded for this source.
    const { account, amount } = event.args;
    await context.db
      .insert(creditWithdrawal)
      .values({ id: event.id, source: "challenge", account, amount, ...meta(event) });
  });

  ponder.on("ChallengeGame:ResolverSet", ({ event, context }) =>
    setLink(context.db, "ChallengeGame", "resolver", event.args.resolver, event),
  );
}
