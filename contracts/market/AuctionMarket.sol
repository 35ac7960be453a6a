// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IAuctionMarket} from "../interfaces/IAuctionMarket.sol";
import {IAuctionSettlement} from "../interfaces/IAuctionSettlement.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {ProtocolAccess} from "../governance/ProtocolAccess.sol";
import {Encodings} from "../libraries/Encodings.sol";
import {Vickrey} from "../libraries/Vickrey.sol";

/// @title AuctionMarket
/// @notice Sealed-bid second-price auctions for single inference jobs. See {IAuctionMarket} and
/// docs/market.md.
/// @dev Bids are stored in one slot each: the top 216 bits of the commitment, the 32-bit commit
/// order and an 8-bit status. Matching 216 bits binds the reveal: opening a commitment to another
/// price needs a 216-bit second preimage of keccak256 (or a 2^108 collision search before committing).
contract AuctionMarket is IAuctionMarket, IAuctionSettlement, ProtocolAccess {
    using SafeERC20 for IERC20;

    /// @notice Basis-point denominator.
    uint256 public constant BPS_DENOMINATOR = 10_000;
    /// @notice Bounds of the commit and reveal durations, in seconds.
    uint256 public constant MIN_PHASE_SECONDS = 30;
    uint256 public constant MAX_PHASE_SECONDS = 7 days;
    /// @notice Bounds of the delivery window (deadline minus reveal end), in seconds.
    uint256 public constant MIN_DELIVERY_SECONDS = 60;
    uint256 public constant MAX_DELIVERY_SECONDS = 30 days;
    /// @notice Bounds of the governance parameters.
    uint256 public constant MAX_PROTOCOL_FEE_BPS = 1_000;
    uint256 public constant MIN_BID_BOND_BPS = 100;
    uint256 public constant MIN_INPUT_WINDOW_SECONDS = 10 minutes;
    uint256 public constant MAX_INPUT_WINDOW_SECONDS = 7 days;
    uint256 public constant MAX_POSTING_BOND = 1e27;
    /// @notice Reputation fixed-point one (the largest minReputation).
    uint256 public constant REPUTATION_ONE = 1e18;

    /// @dev `flaggedAt` value once the input was posted as calldata after a flag (no more flags).
    uint32 private constant INPUT_POSTED = 1;
    uint256 private constant BID_STATUS_MASK = 0xff;
    uint256 private constant BID_ORDER_SHIFT = 8;
    uint256 private constant BID_PREFIX_SHIFT = 40;

    /// @dev Hot configuration and the escrow total in one slot: postJob reads and writes it once.
    struct Config {
        uint64 jobCount;
        uint128 escrowed;
        uint16 protocolFeeBps;
        uint16 bidBondBps;
        uint16 missSlashBps;
    }

    /// @dev Configuration used only by URI jobs and flags.
    struct UriConfig {
        uint32 inputWindow;
        uint96 postingBond;
    }

    /// @dev What the winner recorded.
    struct Delivery {
        bytes32 outputHash;
        uint32 tokens;
    }

    IERC20 private immutable _token;
    /// @notice Stake ledger: bonds are locked, unlocked and slashed there (LOCKER_ROLE, SLASHER_ROLE).
    IStaking public immutable staking;
    /// @notice Node registry: capabilities, reputation, outcomes (REPUTATION_ROLE).
    INodeRegistry public immutable nodeRegistry;

    /// @notice Receiver of protocol fees.
    address public treasury;
    Config private _config;
    UriConfig private _uriConfig;
    uint256 private _totalCredits;

    mapping(uint256 jobId => Job job) private _jobs;
    mapping(uint256 jobId => mapping(address bidder => uint256 packedBid)) private _bids;
    mapping(uint256 jobId => Delivery delivery) private _deliveries;
    mapping(address node => BondAccount account) private _bondAccounts;
    /// @inheritdoc IAuctionMarket
    mapping(address account => uint256 credits) public creditOf;

    /// @notice The batch settlement that pays delivered jobs (zero: winners are paid at delivery).
    address public settlement;
    /// @notice Seconds after a job's delivery deadline during which its batch may settle it.
    uint256 public settleTimeout = 1 days;
    mapping(uint256 jobId => uint256 amount) private _held;

    /// @param admin Default admin (also PARAMS_ROLE and PAUSER_ROLE at first).
    /// @param token_ The payment token (the staking token).
    /// @param staking_ The stake ledger.
    /// @param nodeRegistry_ The node registry.
    /// @param treasury_ Receiver of protocol fees.
    constructor(
        address admin,
        IERC20 token_,
        IStaking staking_,
        INodeRegistry nodeRegistry_,
        address treasury_
    ) ProtocolAccess(admin) {
        if (
            address(token_) == address(0) ||
            address(staking_) == address(0) ||
            address(nodeRegistry_) == address(0) ||
            treasury_ == address(0)
        ) revert AuctionZeroAddress();
        _token = token_;
        staking = staking_;
        nodeRegistry = nodeRegistry_;
        treasury = treasury_;
        emit TreasuryChanged(address(0), treasury_);
        Config memory c;
        c.protocolFeeBps = uint16(_checkParameter("protocolFeeBps", 0, 100, 0, MAX_PROTOCOL_FEE_BPS));
        c.bidBondBps = uint16(_checkParameter("bidBondBps", 0, 1_000, MIN_BID_BOND_BPS, BPS_DENOMINATOR));
        c.missSlashBps = uint16(_checkParameter("missSlashBps", 0, 5_000, 0, BPS_DENOMINATOR));
        _config = c;
        _uriConfig = UriConfig(
            uint32(_checkParameter("inputWindow", 0, 1 hours, MIN_INPUT_WINDOW_SECONDS, MAX_INPUT_WINDOW_SECONDS)),
            uint96(_checkParameter("postingBond", 0, 1e18, 0, MAX_POSTING_BOND))
        );
    }

    // ---------------------------------------------------------------- posting

    /// @inheritdoc IAuctionMarket
    function postJob(
        JobParams calldata params,
        string calldata prompt,
        string[] calldata stop,
        uint64 seed
    ) external whenNotPaused returns (uint256 jobId) {
        bytes32 inputHash = _inputHash(prompt, params.maxTokens, stop, seed);
        jobId = _post(params, inputHash, 0);
        _emitInput(jobId, prompt, stop, seed);
    }

    /// @inheritdoc IAuctionMarket
    function postJobWithUri(
        JobParams calldata params,
        bytes32 inputHash,
        string calldata uri
    ) external whenNotPaused returns (uint256 jobId) {
        uint256 postingBond = _uriConfig.postingBond;
        jobId = _post(params, inputHash, postingBond);
        emit JobInputUri(jobId, uri, postingBond);
    }

    // ---------------------------------------------------------------- bond reservation

    /// @inheritdoc IAuctionMarket
    function reserveBondStake(uint256 amount) external whenNotPaused {
        if (amount == 0) revert AuctionZeroAmount();
        BondAccount storage account = _bondAccounts[msg.sender];
        uint256 available = account.available + amount;
        account.available = uint128(available);
        staking.lock(msg.sender, amount);
        emit BondStakeReserved(msg.sender, amount, available);
    }

    /// @inheritdoc IAuctionMarket
    function releaseBondStake(uint256 amount) external {
        if (amount == 0) revert AuctionZeroAmount();
        BondAccount storage account = _bondAccounts[msg.sender];
        uint256 available = account.available;
        // INVARIANT: stake backing open bids stays locked.
        if (amount > available) revert AuctionInsufficientBondStake(msg.sender, available, amount);
        available -= amount;
        account.available = uint128(available);
        uint256 unlocked = staking.unlock(msg.sender, amount);
        emit BondStakeReleased(msg.sender, amount, unlocked, available);
    }

    // ---------------------------------------------------------------- auction

    /// @inheritdoc IAuctionMarket
    function commitBid(uint256 jobId, bytes32 commitment) external {
        if (commitment == bytes32(0)) revert AuctionZeroCommitment();
        Job storage job = _jobs[jobId];
        // INVARIANT: bids are committed only in phase Commit (an unknown job has commitEnd 0).
        if (block.timestamp >= job.commitEnd) _revertPhase(jobId, Phase.Commit);
        bytes32 modelId = job.modelId;
        // INVARIANT: only registered nodes offering the model bid (deregistering removes capabilities).
        if (!nodeRegistry.hasCapability(msg.sender, modelId)) revert AuctionNoCapability(msg.sender, modelId);
        uint256 minReputation = job.minReputation;
        if (minReputation != 0) {
            uint256 reputation = nodeRegistry.reputationOf(msg.sender);
            // INVARIANT: only bidders at or above the job's minimum reputation bid.
            if (reputation < minReputation) revert AuctionReputationTooLow(msg.sender, reputation, minReputation);
        }
        mapping(address bidder => uint256 packedBid) storage bids = _bids[jobId];
        uint256 packed = bids[msg.sender];
        // INVARIANT: one bid per bidder and job.
        if (packed != 0) revert AuctionWrongBidStatus(jobId, msg.sender, _bidStatus(packed), BidStatus.None);
        uint256 order = job.bidCount;
        // 2^32 commits would cost more than 2^32 new storage slots (over 9e13 gas): cannot overflow.
        unchecked {
            job.bidCount = uint32(order + 1);
        }
        uint256 bond = _bond(job);
        _takeBond(msg.sender, bond);
        bids[msg.sender] =
            ((uint256(commitment) >> BID_PREFIX_SHIFT) << BID_PREFIX_SHIFT) |
            (order << BID_ORDER_SHIFT) |
            uint256(BidStatus.Committed);
        emit BidCommitted(jobId, msg.sender, commitment, order, bond);
    }

    /// @inheritdoc IAuctionMarket
    function revealBid(uint256 jobId, uint256 pricePerToken, bytes32 salt) external {
        Job storage job = _jobs[jobId];
        // INVARIANT: bids are revealed only in phase Reveal.
        if (block.timestamp < job.commitEnd || block.timestamp >= job.revealEnd) _revertPhase(jobId, Phase.Reveal);
        uint256 packed = _bids[jobId][msg.sender];
        BidStatus status = _bidStatus(packed);
        if (status != BidStatus.Committed) revert AuctionWrongBidStatus(jobId, msg.sender, status, BidStatus.Committed);
        bytes32 commitment = Encodings.bidCommitment(jobId, msg.sender, pricePerToken, salt);
        // INVARIANT: a reveal opens the caller's own commitment for this job (both are hashed in).
        if (uint256(commitment) >> BID_PREFIX_SHIFT != packed >> BID_PREFIX_SHIFT) {
            revert AuctionCommitmentMismatch(jobId, msg.sender);
        }
        _bids[jobId][msg.sender] = (packed & ~BID_STATUS_MASK) | uint256(BidStatus.Revealed);

        address best = job.best;
        uint256 bestPrice = job.bestPrice;
        uint256 secondPlusOne = job.secondPricePlusOne;
        // INVARIANT: only prices at or below the reserve can win or set the second price.
        if (pricePerToken <= job.reservePricePerToken) {
            uint256 order = (packed >> BID_ORDER_SHIFT) & type(uint32).max;
            bool hadBest = best != address(0);
            // The best's commit order matters only on a tie; read it only then.
            uint256 bestOrder = hadBest && pricePerToken == bestPrice ? _orderOf(_bids[jobId][best]) : 0;
            uint256 newSecond;
            if (!hadBest || Vickrey.beats(pricePerToken, order, bestPrice, bestOrder)) {
                newSecond = Vickrey.secondAfterNewBest(hadBest, bestPrice, secondPlusOne);
                best = msg.sender;
                bestPrice = pricePerToken;
                job.best = best;
                job.bestPrice = uint96(bestPrice);
            } else {
                newSecond = Vickrey.secondAfterLoser(secondPlusOne, pricePerToken);
            }
            if (newSecond != secondPlusOne) {
                secondPlusOne = newSecond;
                job.secondPricePlusOne = uint96(newSecond);
            }
        }
        emit BidRevealed(jobId, msg.sender, pricePerToken, best, bestPrice, secondPlusOne);
    }

    /// @inheritdoc IAuctionMarket
    function finalize(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _expectPhase(job, jobId, Phase.AwaitingFinalize);
        address winner = job.best;
        if (winner == address(0)) {
            // INVARIANT: with no valid bid the requester gets everything back.
            job.status = Status.NoBids;
            uint256 refund = _priceEscrow(job) + job.postingBond;
            _credit(job.requester, jobId, refund);
            _moveEscrowToCredits(refund);
            emit JobFinalized(jobId, address(0), 0);
            return;
        }
        job.status = Status.Finalized;
        emit JobFinalized(jobId, winner, Vickrey.clearingPrice(job.secondPricePlusOne, job.reservePricePerToken));
    }

    /// @inheritdoc IAuctionMarket
    function releaseBond(uint256 jobId, address bidder) external {
        Job storage job = _jobs[jobId];
        uint256 packed = _bids[jobId][bidder];
        BidStatus status = _bidStatus(packed);
        if (status != BidStatus.Committed && status != BidStatus.Revealed) {
            revert AuctionWrongBidStatus(jobId, bidder, status, BidStatus.Revealed);
        }
        // INVARIANT: losers and unrevealed bids are known only once the reveal phase is over.
        if (block.timestamp < job.revealEnd) _revertPhase(jobId, Phase.AwaitingFinalize);
        // INVARIANT: the winner's bond backs its delivery.
        if (bidder == job.best) revert AuctionWinnerBond(jobId, bidder);
        _closeBid(jobId, bidder, packed);
        uint256 bond = _bond(job);
        if (status == BidStatus.Revealed) {
            _returnBond(bidder, bond);
            emit BondReleased(jobId, bidder, bond);
        } else {
            _bondAccounts[bidder].committed -= uint128(bond);
            // INVARIANT: unrevealed bonds are burned, never paid to the requester.
            emit BondSlashed(jobId, bidder, _slash(bidder, bond));
        }
    }

    // ---------------------------------------------------------------- delivery

    /// @inheritdoc IAuctionMarket
    function deliver(uint256 jobId, bytes32 outputHash, uint32 tokens) external {
        Job storage job = _jobs[jobId];
        _expectPhase(job, jobId, Phase.Delivery);
        address winner = job.best;
        if (msg.sender != winner) revert AuctionNotWinner(jobId, msg.sender, winner);
        // INVARIANT: the winner is never paid for more tokens than the job allows.
        if (tokens > job.maxTokens) revert AuctionTooManyTokens(tokens, job.maxTokens);
        // INVARIANT: delivery and refund are exclusive: both leave status Finalized, at disjoint times.
        job.status = Status.Delivered;
        _deliveries[jobId] = Delivery(outputHash, tokens);

        uint256 payment = uint256(tokens) * Vickrey.clearingPrice(job.secondPricePlusOne, job.reservePricePerToken);
        uint256 fee = _ceilBps(payment, job.feeBps);
        uint256 escrow = _priceEscrow(job);
        uint256 postingBond = job.postingBond;
        // payment + fee <= reserve x maxTokens + its fee = escrow, because price <= reserve.
        uint256 refund = escrow - payment - fee + postingBond;
        uint256 held = _settleWinnerPayment(jobId, winner, payment);
        _credit(treasury, jobId, fee);
        _credit(job.requester, jobId, refund);
        _moveEscrowToCredits(escrow + postingBond - held);

        _closeBid(jobId, winner, _bids[jobId][winner]);
        _returnBond(winner, _bond(job));
        emit JobDelivered(jobId, winner, outputHash, tokens, payment);
    }

    /// @inheritdoc IAuctionMarket
    function claimRefund(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _expectPhase(job, jobId, Phase.Expired);
        // INVARIANT: delivery and refund are exclusive: both leave status Open/Finalized, at disjoint times.
        job.status = Status.Refunded;
        uint256 refund = _priceEscrow(job) + job.postingBond;
        _credit(job.requester, jobId, refund);
        _moveEscrowToCredits(refund);
        address winner = job.best;
        if (winner != address(0)) {
            _closeBid(jobId, winner, _bids[jobId][winner]);
            uint256 bond = _bond(job);
            uint256 penalty = (bond * _config.missSlashBps) / BPS_DENOMINATOR;
            BondAccount storage account = _bondAccounts[winner];
            account.committed -= uint128(bond);
            account.available += uint128(bond - penalty);
            if (penalty != 0) {
                // INVARIANT: the penalty is burned, never paid to the requester.
                uint256 slashed = _slash(winner, penalty);
                emit BondSlashed(jobId, winner, slashed);
            }
            uint256 value =
                uint256(job.maxTokens) * Vickrey.clearingPrice(job.secondPricePlusOne, job.reservePricePerToken);
            nodeRegistry.recordOutcome(winner, 0, value);
        }
        emit JobRefunded(jobId, winner, refund);
    }

    /// @inheritdoc IAuctionMarket
    function flagUnreachableInput(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        _expectPhase(job, jobId, Phase.Delivery);
        if (msg.sender != job.best) revert AuctionNotWinner(jobId, msg.sender, job.best);
        // INVARIANT: only hash-only (URI) inputs can be flagged, once.
        if (job.postingBond == 0) revert AuctionNoInputFlag(jobId);
        if (job.flaggedAt != 0) revert AuctionAlreadyFlagged(jobId);
        job.flaggedAt = uint32(block.timestamp);
        emit InputFlagged(jobId, msg.sender, block.timestamp + _uriConfig.inputWindow);
    }

    /// @inheritdoc IAuctionMarket
    function postInput(uint256 jobId, string calldata prompt, string[] calldata stop, uint64 seed) external {
        Job storage job = _jobs[jobId];
        if (msg.sender != job.requester) revert AuctionNotRequester(jobId, msg.sender, job.requester);
        uint256 flaggedAt = job.flaggedAt;
        if (flaggedAt <= INPUT_POSTED || job.status != Status.Finalized) revert AuctionNoInputFlag(jobId);
        uint256 respondBy = flaggedAt + _uriConfig.inputWindow;
        if (block.timestamp > respondBy) revert AuctionInputWindowClosed(jobId, respondBy);
        bytes32 actual = _inputHash(prompt, job.maxTokens, stop, seed);
        // INVARIANT: the posted input is the one the job committed to.
        if (actual != job.inputHash) revert AuctionInputMismatch(jobId, job.inputHash, actual);
        uint256 deadline = job.deliveryDeadline + (block.timestamp - flaggedAt);
        job.deliveryDeadline = uint32(deadline);
        job.flaggedAt = INPUT_POSTED;
        _emitInput(jobId, prompt, stop, seed);
        emit DeadlineExtended(jobId, deadline);
    }

    /// @inheritdoc IAuctionMarket
    function resolveUnreachable(uint256 jobId) external {
        Job storage job = _jobs[jobId];
        uint256 flaggedAt = job.flaggedAt;
        if (flaggedAt <= INPUT_POSTED || job.status != Status.Finalized) revert AuctionNoInputFlag(jobId);
        uint256 respondBy = flaggedAt + _uriConfig.inputWindow;
        if (block.timestamp <= respondBy) revert AuctionInputWindowOpen(jobId, respondBy);
        job.status = Status.Unreachable;
        address winner = job.best;
        uint256 postingBond = job.postingBond;
        uint256 refund = _priceEscrow(job);
        // INVARIANT: an unanswered flag costs the requester its posting bond, paid to the winner.
        _credit(winner, jobId, postingBond);
        _credit(job.requester, jobId, refund);
        _moveEscrowToCredits(refund + postingBond);
        _closeBid(jobId, winner, _bids[jobId][winner]);
        _returnBond(winner, _bond(job));
        emit JobUnreachable(jobId, winner, postingBond, refund);
    }

    /// @inheritdoc IAuctionMarket
    function withdrawCredits() external returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert AuctionNoCredits(msg.sender);
        creditOf[msg.sender] = 0;
        _totalCredits -= amount;
        emit CreditsWithdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    // ---------------------------------------------------------------- parameters

    /// @inheritdoc IAuctionMarket
    function setParameter(bytes32 name, uint256 value) external onlyRole(PARAMS_ROLE) {
        Config memory c = _config;
        UriConfig memory u = _uriConfig;
        if (name == "protocolFeeBps") {
            c.protocolFeeBps = uint16(_checkParameter(name, c.protocolFeeBps, value, 0, MAX_PROTOCOL_FEE_BPS));
        } else if (name == "bidBondBps") {
            c.bidBondBps = uint16(_checkParameter(name, c.bidBondBps, value, MIN_BID_BOND_BPS, BPS_DENOMINATOR));
        } else if (name == "missSlashBps") {
            c.missSlashBps = uint16(_checkParameter(name, c.missSlashBps, value, 0, BPS_DENOMINATOR));
        } else if (name == "inputWindow") {
            u.inputWindow = uint32(
                _checkParameter(name, u.inputWindow, value, MIN_INPUT_WINDOW_SECONDS, MAX_INPUT_WINDOW_SECONDS)
            );
        } else if (name == "postingBond") {
            u.postingBond = uint96(_checkParameter(name, u.postingBond, value, 0, MAX_POSTING_BOND));
        } else if (name == "settleTimeout") {
            settleTimeout = _checkParameter(name, settleTimeout, value, MIN_INPUT_WINDOW_SECONDS, 30 days);
        } else {
            revert AuctionUnknownParameter(name);
        }
        _config = c;
        _uriConfig = u;
    }

    /// @inheritdoc IAuctionMarket
    function setTreasury(address value) external onlyRole(PARAMS_ROLE) {
        if (value == address(0)) revert AuctionZeroAddress();
        emit TreasuryChanged(treasury, value);
        treasury = value;
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc IAuctionMarket
    function phase(uint256 jobId) external view returns (Phase) {
        return _phase(_jobs[jobId]);
    }

    /// @inheritdoc IAuctionMarket
    function getJob(uint256 jobId) external view returns (Job memory) {
        return _jobs[jobId];
    }

    /// @inheritdoc IAuctionMarket
    function bidOf(
        uint256 jobId,
        address bidder
    ) external view returns (bytes32 commitmentPrefix, uint32 order, BidStatus status) {
        uint256 packed = _bids[jobId][bidder];
        return (
            bytes32((packed >> BID_PREFIX_SHIFT) << BID_PREFIX_SHIFT),
            uint32(_orderOf(packed)),
            _bidStatus(packed)
        );
    }

    /// @notice What the winner recorded for the job (zero before delivery). Issue 4's settlement reads it.
    function deliveryOf(uint256 jobId) external view returns (bytes32 outputHash, uint32 tokens) {
        Delivery memory d = _deliveries[jobId];
        return (d.outputHash, d.tokens);
    }

    /// @inheritdoc IAuctionMarket
    function bondAccountOf(address node) external view returns (BondAccount memory) {
        return _bondAccounts[node];
    }

    /// @inheritdoc IAuctionMarket
    function totals() external view returns (uint256 escrowed, uint256 credits) {
        return (_config.escrowed, _totalCredits);
    }

    /// @inheritdoc IAuctionMarket
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @inheritdoc IAuctionMarket
    function jobCount() external view returns (uint256) {
        return _config.jobCount;
    }

    // ---------------------------------------------------------------- internals

    function _post(JobParams calldata p, bytes32 inputHash, uint256 postingBond) private returns (uint256 jobId) {
        if (p.maxTokens == 0) revert AuctionInvalidJob("maxTokens", 0);
        // The reserve leaves room for secondPricePlusOne in 96 bits.
        if (p.reservePricePerToken == 0 || p.reservePricePerToken == type(uint96).max) {
            revert AuctionInvalidJob("reservePricePerToken", p.reservePricePerToken);
        }
        if (p.minReputation > REPUTATION_ONE) revert AuctionInvalidJob("minReputation", p.minReputation);
        _checkDuration("commitDuration", p.commitDuration, MIN_PHASE_SECONDS, MAX_PHASE_SECONDS);
        _checkDuration("revealDuration", p.revealDuration, MIN_PHASE_SECONDS, MAX_PHASE_SECONDS);
        uint256 commitEnd = block.timestamp + p.commitDuration;
        uint256 revealEnd = commitEnd + p.revealDuration;
        if (
            p.deliveryDeadline < revealEnd + MIN_DELIVERY_SECONDS ||
            p.deliveryDeadline > revealEnd + MAX_DELIVERY_SECONDS
        ) revert AuctionInvalidJob("deliveryDeadline", p.deliveryDeadline);

        Config memory c = _config;
        jobId = uint256(c.jobCount) + 1;
        uint256 priceAmount = uint256(p.reservePricePerToken) * p.maxTokens;
        uint256 escrow = priceAmount + _ceilBps(priceAmount, c.protocolFeeBps) + postingBond;
        c.jobCount = uint64(jobId);
        // Every escrow is backed by tokens received, so the total fits in 128 bits for any real token.
        c.escrowed += uint128(escrow);
        _config = c;

        Job storage job = _jobs[jobId];
        job.requester = msg.sender;
        job.commitEnd = uint32(commitEnd);
        job.revealEnd = uint32(revealEnd);
        job.deliveryDeadline = p.deliveryDeadline;
        job.modelId = p.modelId;
        // A calldata input is public in JobPosted/JobInputPosted and can never be flagged, so only
        // hash-only (URI) jobs store their input hash, which postInput checks (saves a fresh slot).
        if (postingBond != 0) job.inputHash = inputHash;
        job.reservePricePerToken = p.reservePricePerToken;
        job.maxTokens = p.maxTokens;
        job.minReputation = p.minReputation;
        job.feeBps = c.protocolFeeBps;
        job.bidBondBps = c.bidBondBps;
        if (postingBond != 0) job.postingBond = uint96(postingBond);

        _token.safeTransferFrom(msg.sender, address(this), escrow);
        emit JobPosted(jobId, msg.sender, p.modelId, inputHash, p, commitEnd, revealEnd, escrow);
    }

    function _phase(Job storage job) private view returns (Phase) {
        if (job.requester == address(0)) return Phase.None;
        Status status = job.status;
        if (status >= Status.Delivered) return Phase.Done;
        if (block.timestamp < job.commitEnd) return Phase.Commit;
        if (block.timestamp < job.revealEnd) return Phase.Reveal;
        bool late = block.timestamp > job.deliveryDeadline;
        if (status == Status.Open) return late ? Phase.Expired : Phase.AwaitingFinalize;
        // A pending input flag stops the clock: the requester must answer it first.
        if (job.flaggedAt > INPUT_POSTED) return Phase.Delivery;
        return late ? Phase.Expired : Phase.Delivery;
    }

    function _expectPhase(Job storage job, uint256 jobId, Phase expected) private view {
        Phase current = _phase(job);
        if (current != expected) {
            if (current == Phase.None) revert AuctionUnknownJob(jobId);
            revert AuctionWrongPhase(jobId, current, expected);
        }
    }

    function _revertPhase(uint256 jobId, Phase expected) private view {
        _expectPhase(_jobs[jobId], jobId, expected);
        // Only reached if the cheap check and the full phase disagree, which they never do.
        revert AuctionWrongPhase(jobId, expected, expected);
    }

    /// @dev INodeRegistry.capabilityOf returns (Capability, bool): six static words, then `found`.
    /// Reading only `found` skips decoding the struct (smaller code, less gas).
    function _inputHash(
        string calldata prompt,
        uint32 maxTokens,
        string[] calldata stop,
        uint64 seed
    ) private pure returns (bytes32) {
        return Encodings.hashInput(prompt, maxTokens, stop, seed);
    }

    function _emitInput(uint256 jobId, string calldata prompt, string[] calldata stop, uint64 seed) private {
        emit JobInputPosted(jobId, prompt, stop, seed);
    }

    function _checkDuration(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert AuctionInvalidJob(name, value);
    }

    function _priceEscrow(Job storage job) private view returns (uint256) {
        uint256 priceAmount = uint256(job.reservePricePerToken) * job.maxTokens;
        return priceAmount + _ceilBps(priceAmount, job.feeBps);
    }

    function _bond(Job storage job) private view returns (uint256) {
        return _ceilBps(uint256(job.reservePricePerToken) * job.maxTokens, job.bidBondBps);
    }

    function _ceilBps(uint256 amount, uint256 bps) private pure returns (uint256) {
        return (amount * bps + BPS_DENOMINATOR - 1) / BPS_DENOMINATOR;
    }

    function _bidStatus(uint256 packed) private pure returns (BidStatus) {
        return BidStatus(packed & BID_STATUS_MASK);
    }

    function _orderOf(uint256 packed) private pure returns (uint256) {
        return (packed >> BID_ORDER_SHIFT) & type(uint32).max;
    }

    function _closeBid(uint256 jobId, address bidder, uint256 packed) private {
        _bids[jobId][bidder] = (packed & ~BID_STATUS_MASK) | uint256(BidStatus.Closed);
    }

    /// @dev Takes `bond` from the bidder's reservation, locking any shortfall from its free stake.
    function _takeBond(address bidder, uint256 bond) private {
        BondAccount memory account = _bondAccounts[bidder];
        uint256 available = account.available;
        if (available < bond) {
            // INVARIANT: every bond is backed by stake locked in Staking.
            staking.lock(bidder, bond - available);
            available = bond;
        }
        // Reserved and committed amounts are stake locked in Staking, whose per-account total fits in
        // 128 bits; available >= bond here.
        unchecked {
            account.available = uint128(available - bond);
            account.committed += uint128(bond);
        }
        _bondAccounts[bidder] = account;
    }

    /// @dev A released bond stays locked in Staking, back in the node's reservation.
    function _returnBond(address bidder, uint256 bond) private {
        BondAccount memory account = _bondAccounts[bidder];
        // `bond` is part of `committed` (taken at commit); the sum stays within the locked stake.
        unchecked {
            account.committed -= uint128(bond);
            account.available += uint128(bond);
        }
        _bondAccounts[bidder] = account;
    }

    function _slash(address account, uint256 amount) private returns (uint256) {
        address[] memory none = new address[](0);
        uint256[] memory noBps = new uint256[](0);
        return staking.slash(account, amount, none, noBps);
    }

    /// @dev Issue 4 hook: today the winner is credited at delivery; batch settlement will instead
    /// record the payment as a leaf and credit it after the challenge window.
    /// @dev Standalone, the winner is paid at delivery. With a settlement contract the payment is
    /// held until the batch leaf carrying the job settles (`collectJob`), so a wrong output found
    /// by a challenge is never paid; the escrow stays counted as escrowed meanwhile.
    function _settleWinnerPayment(uint256 jobId, address winner, uint256 payment) private returns (uint256 held) {
        if (settlement == address(0)) {
            _credit(winner, jobId, payment);
            return 0;
        }
        _held[jobId] = payment;
        return payment;
    }

    /// @inheritdoc IAuctionSettlement
    function collectJob(
        uint256 jobId,
        address node,
        bytes32 output,
        uint256 maxAmount
    ) external returns (uint256 paid) {
        if (msg.sender != settlement || settlement == address(0)) revert AuctionNotSettlement(msg.sender);
        uint256 held = _held[jobId];
        // INVARIANT: only the winner's recorded delivery is paid, once.
        if (held == 0 || _jobs[jobId].best != node || _deliveries[jobId].outputHash != output) return 0;
        _held[jobId] = 0;
        paid = held < maxAmount ? held : maxAmount;
        _credit(msg.sender, jobId, paid);
        _credit(_jobs[jobId].requester, jobId, held - paid);
        _moveEscrowToCredits(held);
        emit JobCollected(jobId, node, paid, held - paid);
    }

    /// @inheritdoc IAuctionSettlement
    function claimUnsettled(uint256 jobId) external {
        uint256 held = _held[jobId];
        Job storage job = _jobs[jobId];
        uint256 refundableAt = uint256(job.deliveryDeadline) + settleTimeout;
        if (held == 0 || block.timestamp <= refundableAt) revert AuctionNotUnsettled(jobId, held, refundableAt);
        _held[jobId] = 0;
        _credit(job.requester, jobId, held);
        _moveEscrowToCredits(held);
        emit UnsettledRefunded(jobId, job.requester, held);
    }

    /// @inheritdoc IAuctionSettlement
    function setSettlement(address value) external onlyRole(DEFAULT_ADMIN_ROLE) {
        settlement = value;
        emit SettlementSet(value);
    }

    /// @inheritdoc IAuctionSettlement
    function heldOf(uint256 jobId) external view returns (uint256) {
        return _held[jobId];
    }

    function _credit(address account, uint256 jobId, uint256 amount) private {
        if (amount == 0) return;
        creditOf[account] += amount;
        emit Credited(account, jobId, amount);
    }

    function _moveEscrowToCredits(uint256 amount) private {
        _config.escrowed -= uint128(amount);
        _totalCredits += amount;
    }
}
