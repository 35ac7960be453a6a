// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @title IAuctionMarket
/// @notice Sealed-bid second-price (reverse) auctions for single inference jobs. A requester posts a
/// job with escrow (maxTokens x reserve price plus the protocol fee); eligible nodes commit sealed
/// bids backed by a bond of locked stake, then reveal; the lowest price wins and is paid the
/// second-lowest revealed price (the reserve when alone); the winner records delivery before the
/// deadline, or the requester is refunded and the winner loses reputation and part of its bond.
/// @dev Phases are computed from timestamps and a stored status, never stored (see `phase`).
/// Bonds: a node reserves stake for bonds once (`reserveBondStake`, one IStaking.lock); each commit
/// then takes its bond from that reservation with no external call, and falls back to locking the
/// shortfall directly. Released bonds return to the reservation; `releaseBondStake` unlocks it.
/// Unrevealed bonds and missed-deadline penalties are slashed through IStaking.slash and burned,
/// never paid to the requester. All payouts are credits pulled with `withdrawCredits`.
/// Ties: equal prices rank by commit order (the earlier commit wins). Bids above the reserve are
/// accepted at reveal (the bond is released) but cannot win.
interface IAuctionMarket {
    /// @notice Computed phase of a job.
    enum Phase {
        None,
        Commit,
        Reveal,
        AwaitingFinalize,
        Delivery,
        Done,
        Expired
    }

    /// @notice Stored outcome of a job (Open until finalized; the last four are final).
    enum Status {
        Open,
        Finalized,
        Delivered,
        Refunded,
        NoBids,
        Unreachable
    }

    /// @notice Stored state of a bid.
    enum BidStatus {
        None,
        Committed,
        Revealed,
        Closed
    }

    /// @notice What a requester posts.
    /// @param modelId Model the job needs (ModelRegistry id).
    /// @param maxTokens Largest number of tokens the winner may be paid for (> 0).
    /// @param reservePricePerToken Highest acceptable price per token (> 0, < 2^96 - 1).
    /// @param minReputation Smallest bidder reputation accepted (1e18 fixed point, <= 1e18).
    /// @param commitDuration Seconds of the commit phase, from posting.
    /// @param revealDuration Seconds of the reveal phase, after the commit phase.
    /// @param deliveryDeadline Timestamp by which the winner must record delivery.
    struct JobParams {
        bytes32 modelId;
        uint32 maxTokens;
        uint96 reservePricePerToken;
        uint64 minReputation;
        uint32 commitDuration;
        uint32 revealDuration;
        uint32 deliveryDeadline;
    }

    /// @notice A job as stored (six slots). `inputHash` is stored only for hash-only (URI) jobs,
    /// which may be flagged; for a calldata job it is zero here and given by JobPosted.
    struct Job {
        address requester;
        uint32 commitEnd;
        uint32 revealEnd;
        uint32 deliveryDeadline;
        bytes32 modelId;
        bytes32 inputHash;
        uint96 reservePricePerToken;
        uint32 maxTokens;
        uint64 minReputation;
        uint32 bidCount;
        uint16 feeBps;
        uint16 bidBondBps;
        address best;
        uint96 bestPrice;
        uint96 secondPricePlusOne;
        Status status;
        uint32 flaggedAt;
        uint96 postingBond;
    }

    /// @notice Bond stake a node reserved in this market: `available` for new bids, `committed` in bids.
    struct BondAccount {
        uint128 available;
        uint128 committed;
    }

    /// @notice A job was posted; `escrow` tokens were pulled (price reserve + fee + posting bond).
    event JobPosted(
        uint256 indexed jobId,
        address indexed requester,
        bytes32 indexed modelId,
        bytes32 inputHash,
        JobParams params,
        uint256 commitEnd,
        uint256 revealEnd,
        uint256 escrow
    );
    /// @notice The job's input, as calldata (at posting or after a flag).
    event JobInputPosted(uint256 indexed jobId, string prompt, string[] stop, uint64 seed);
    /// @notice The job's input is at `uri` (hash-only posting, with a posting bond).
    event JobInputUri(uint256 indexed jobId, string uri, uint256 postingBond);
    /// @notice `node` reserved `amount` of its stake for bids; `available` after.
    event BondStakeReserved(address indexed node, uint256 amount, uint256 available);
    /// @notice `node` released `amount` of its bond reservation (`unlocked` came back from Staking).
    event BondStakeReleased(address indexed node, uint256 amount, uint256 unlocked, uint256 available);
    /// @notice `bidder` committed the `order`-th bid (0-based) of the job, bonding `bond`.
    event BidCommitted(uint256 indexed jobId, address indexed bidder, bytes32 commitment, uint256 order, uint256 bond);
    /// @notice `bidder` revealed `price`; `best` and `secondPricePlusOne` are the auction state after.
    event BidRevealed(
        uint256 indexed jobId,
        address indexed bidder,
        uint256 price,
        address best,
        uint256 bestPrice,
        uint256 secondPricePlusOne
    );
    /// @notice A revealed loser's (or the winner's) bond went back to its reservation.
    event BondReleased(uint256 indexed jobId, address indexed bidder, uint256 bond);
    /// @notice `slashed` of `bidder`'s bond was slashed (unrevealed bid or missed deadline) and burned.
    event BondSlashed(uint256 indexed jobId, address indexed bidder, uint256 slashed);
    /// @notice The auction closed: `winner` (zero if none) is paid `pricePerToken`.
    event JobFinalized(uint256 indexed jobId, address indexed winner, uint256 pricePerToken);
    /// @notice The winner recorded delivery and is owed `payment`; the fee and the requester's refund
    /// follow as Credited events.
    event JobDelivered(
        uint256 indexed jobId,
        address indexed winner,
        bytes32 outputHash,
        uint32 tokens,
        uint256 payment
    );
    /// @notice The winner missed the deadline; the requester was refunded `refund`.
    event JobRefunded(uint256 indexed jobId, address indexed winner, uint256 refund);
    /// @notice The winner says it cannot fetch the input from the URI.
    event InputFlagged(uint256 indexed jobId, address indexed winner, uint256 respondBy);
    /// @notice The requester did not post the input in time: its posting bond went to the winner.
    event JobUnreachable(uint256 indexed jobId, address indexed winner, uint256 postingBond, uint256 refund);
    /// @notice The delivery deadline moved (after the input was posted following a flag).
    event DeadlineExtended(uint256 indexed jobId, uint256 deliveryDeadline);
    /// @notice `account` was credited `amount`.
    event Credited(address indexed account, uint256 indexed jobId, uint256 amount);
    /// @notice `account` withdrew its credits.
    event CreditsWithdrawn(address indexed account, uint256 amount);
    /// @notice The treasury (receiver of protocol fees) changed.
    event TreasuryChanged(address indexed oldTreasury, address indexed newTreasury);

    /// @notice No job with this id.
    error AuctionUnknownJob(uint256 jobId);
    /// @notice The job is in phase `current`; the call needs `expected`.
    error AuctionWrongPhase(uint256 jobId, Phase current, Phase expected);
    /// @notice A job parameter is invalid (`name` says which).
    error AuctionInvalidJob(bytes32 name, uint256 value);
    /// @notice The bidder has no capability for the model.
    error AuctionNoCapability(address bidder, bytes32 modelId);
    /// @notice The bidder's reputation is below the job's minimum.
    error AuctionReputationTooLow(address bidder, uint256 have, uint256 need);
    /// @notice The bid is in state `current`; the call needs `expected`.
    error AuctionWrongBidStatus(uint256 jobId, address bidder, BidStatus current, BidStatus expected);
    /// @notice The revealed price and salt do not open the commitment.
    error AuctionCommitmentMismatch(uint256 jobId, address bidder);
    /// @notice The commitment is zero.
    error AuctionZeroCommitment();
    /// @notice The winner's bond is released at delivery, refund or unreachable resolution.
    error AuctionWinnerBond(uint256 jobId, address winner);
    /// @notice Only the job's winner may do this.
    error AuctionNotWinner(uint256 jobId, address caller, address winner);
    /// @notice Only the job's requester may do this.
    error AuctionNotRequester(uint256 jobId, address caller, address requester);
    /// @notice More tokens than the job allows.
    error AuctionTooManyTokens(uint32 tokens, uint32 maxTokens);
    /// @notice The job's input was posted as calldata already, or was never flagged.
    error AuctionNoInputFlag(uint256 jobId);
    /// @notice The input was flagged already.
    error AuctionAlreadyFlagged(uint256 jobId);
    /// @notice The posted input does not hash to the job's inputHash.
    error AuctionInputMismatch(uint256 jobId, bytes32 expected, bytes32 actual);
    /// @notice The requester's window to post the input is still open (until `respondBy`).
    error AuctionInputWindowOpen(uint256 jobId, uint256 respondBy);
    /// @notice The requester's window to post the input has closed.
    error AuctionInputWindowClosed(uint256 jobId, uint256 respondBy);
    /// @notice Not enough available bond reservation.
    error AuctionInsufficientBondStake(address node, uint256 available, uint256 need);
    /// @notice The amount is zero.
    error AuctionZeroAmount();
    /// @notice The address is zero.
    error AuctionZeroAddress();
    /// @notice No credits to withdraw.
    error AuctionNoCredits(address account);
    /// @notice `setParameter` got an unknown name.
    error AuctionUnknownParameter(bytes32 name);

    /// @notice Posts a job whose input is given here as calldata; inputHash = Encodings.hashInput.
    /// Pulls maxTokens x reserve plus the fee. Pausable.
    function postJob(
        JobParams calldata params,
        string calldata prompt,
        string[] calldata stop,
        uint64 seed
    ) external returns (uint256 jobId);

    /// @notice Posts a job whose input lives at `uri` (hash only on chain); pulls the posting bond too.
    /// Pausable.
    function postJobWithUri(
        JobParams calldata params,
        bytes32 inputHash,
        string calldata uri
    ) external returns (uint256 jobId);

    /// @notice Locks `amount` of the caller's free stake (IStaking.lock) as its bond reservation. Pausable.
    function reserveBondStake(uint256 amount) external;

    /// @notice Unlocks `amount` of the caller's available reservation (IStaking.unlock). Open while paused.
    function releaseBondStake(uint256 amount) external;

    /// @notice Commits a sealed bid: `Encodings.bidCommitment(jobId, msg.sender, price, salt)`.
    /// Needs phase Commit, a capability for the model, reputation >= minReputation, and the bond
    /// (from the reservation, or the shortfall locked from free stake).
    function commitBid(uint256 jobId, bytes32 commitment) external;

    /// @notice Opens the caller's commitment in phase Reveal; keeps the best two prices.
    function revealBid(uint256 jobId, uint256 pricePerToken, bytes32 salt) external;

    /// @notice Closes the auction in phase AwaitingFinalize: records the winner, or refunds when no
    /// valid bid was revealed. Anyone may call.
    function finalize(uint256 jobId) external;

    /// @notice After the reveal phase, closes a losing bid: a revealed loser's bond returns to its
    /// reservation; an unrevealed bid's bond is slashed and burned. Anyone may call (the winner's bond
    /// is closed by delivery, refund or unreachable resolution).
    function releaseBond(uint256 jobId, address bidder) external;

    /// @notice The winner records delivery in phase Delivery: pays the winner tokens x price, the fee
    /// to the treasury, the rest back to the requester; releases the winner's bond.
    function deliver(uint256 jobId, bytes32 outputHash, uint32 tokens) external;

    /// @notice In phase Expired (deadline missed): refunds the requester in full, slashes part of the
    /// winner's bond and records a failed outcome. Anyone may call.
    function claimRefund(uint256 jobId) external;

    /// @notice The winner of a URI job says the input is unreachable (phase Delivery).
    function flagUnreachableInput(uint256 jobId) external;

    /// @notice The requester posts a flagged job's input as calldata within the window; the deadline
    /// moves by the time the flag was pending.
    function postInput(uint256 jobId, string calldata prompt, string[] calldata stop, uint64 seed) external;

    /// @notice After the window with no input: the posting bond goes to the winner, the price escrow
    /// back to the requester, the winner's bond is released. Anyone may call.
    function resolveUnreachable(uint256 jobId) external;

    /// @notice Withdraws all of the caller's credits. Open while paused.
    function withdrawCredits() external returns (uint256 amount);

    /// @notice Sets one bounded parameter, for new jobs unless noted. Only PARAMS_ROLE. Names and bounds:
    /// "protocolFeeBps" [0, 1000] of the winner's payment; "bidBondBps" [100, 10000] of reserve x
    /// maxTokens; "missSlashBps" [0, 10000] of the winner's bond on a missed deadline (applies at
    /// the refund); "inputWindow" [600, 604800] seconds to answer a flag (applies to pending flags);
    /// "postingBond" [0, 1e27] token wei for URI jobs.
    function setParameter(bytes32 name, uint256 value) external;

    /// @notice Sets the treasury. Only PARAMS_ROLE.
    function setTreasury(address value) external;

    /// @notice The job's phase now.
    function phase(uint256 jobId) external view returns (Phase);

    /// @notice The stored job.
    function getJob(uint256 jobId) external view returns (Job memory);

    /// @notice A bid: the stored commitment prefix (top 216 bits), its commit order and status.
    function bidOf(
        uint256 jobId,
        address bidder
    ) external view returns (bytes32 commitmentPrefix, uint32 order, BidStatus status);

    /// @notice A node's bond reservation.
    function bondAccountOf(address node) external view returns (BondAccount memory);

    /// @notice Withdrawable credits of `account`.
    function creditOf(address account) external view returns (uint256);

    /// @notice Tokens held for open jobs and for credits: together everything this contract owes.
    function totals() external view returns (uint256 escrowed, uint256 credits);

    /// @notice The payment token.
    function token() external view returns (IERC20);

    /// @notice Number of jobs posted (ids are 1..jobCount).
    function jobCount() external view returns (uint256);
}
