// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProtocolAccess} from "../governance/ProtocolAccess.sol";
import {ICommittee} from "../interfaces/ICommittee.sol";
import {IDisputeResolver} from "../interfaces/IDisputeResolver.sol";
import {IChallengeGame} from "../interfaces/IChallengeGame.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {Encodings} from "../libraries/Encodings.sol";

/// @notice The one ChallengeGame value the committee reads that IChallengeGame does not list.
interface IChallengeGameShare {
    function committeeShareBps() external view returns (uint256);
}

/// @title Committee
/// @notice The dispute resolver of wrong-output challenges (see ICommittee, docs/committees.md).
/// @dev Needs RESOLVER_ROLE on the ChallengeGame and LOCKER_ROLE + SLASHER_ROLE on Staking.
/// Accounting: token balance + credits owed to this contract by the game and by Staking ==
/// totalCredits + reserve + potsHeld (>= if tokens are sent directly).
contract Committee is ICommittee, ProtocolAccess, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    uint256 public constant BPS = 10_000;
    /// @notice Draw attempts per seat before a round counts as short of candidates.
    uint256 public constant DRAW_ATTEMPTS_PER_SEAT = 4;
    uint256 public constant MAX_COMMITTEE_SIZE = 15;
    uint256 public constant MAX_APPEALS = 3;
    uint256 public constant MAX_DRAW_DELAY_BLOCKS = 128;
    uint256 public constant MAX_REDRAWS = 5;
    uint256 public constant MIN_WINDOW_SECONDS = 5;
    uint256 public constant MAX_WINDOW_SECONDS = 30 days;
    uint256 public constant MAX_AMOUNT = 1e30;

    uint8 internal constant VOTE_GUILTY = 1;
    uint8 internal constant VOTE_NOT_GUILTY = 2;

    IERC20 public immutable token;
    IChallengeGame public immutable game;
    IStaking public immutable staking;
    /// @notice Receives swept reserve.
    address public immutable treasury;

    Params internal _params;
    uint256 public disputeCount;
    /// @notice Pays each dispute's fee when the verdict's credit falls short; fed by the surplus.
    uint256 public reserve;
    /// @notice Sum over disputes of pot - paid (penalties, appeal fees and fees not yet claimed).
    uint256 public potsHeld;
    uint256 public totalCredits;
    mapping(address account => uint256 amount) public creditOf;

    mapping(uint256 disputeId => Dispute) internal _disputes;
    mapping(uint256 disputeId => mapping(uint8 round => Round)) internal _rounds;
    mapping(uint256 disputeId => mapping(uint8 round => address[])) internal _members;
    mapping(uint256 disputeId => mapping(uint8 round => mapping(address member => Seat))) internal _seats;

    /// @dev Refuses chains whose recent blockhashes are missing or equal, or whose prevrandao is 0
    /// or 1 (constant on chains without a beacon; docs/committees.md "Randomness").
    constructor(
        address admin,
        IERC20 token_,
        IChallengeGame game_,
        IStaking staking_,
        address treasury_,
        Params memory initial
    ) ProtocolAccess(admin) {
        bytes32 h1 = block.number > 1 ? blockhash(block.number - 1) : bytes32(0);
        bytes32 h2 = block.number > 2 ? blockhash(block.number - 2) : bytes32(0);
        // INVARIANT: committee seeds come from blockhashes that vary block to block.
        if (h1 == 0 || h2 == 0 || h1 == h2 || block.prevrandao < 2) {
            revert CommitteeWeakRandomness(h1, h2, block.prevrandao);
        }
        token = token_;
        game = game_;
        staking = staking_;
        treasury = treasury_;
        _setParam("committeeSize", initial.committeeSize);
        _setParam("minCommitteeSize", initial.minCommitteeSize);
        _setParam("maxAppeals", initial.maxAppeals);
        _setParam("drawDelayBlocks", initial.drawDelayBlocks);
        _setParam("maxRedraws", initial.maxRedraws);
        _setParam("commitSeconds", initial.commitSeconds);
        _setParam("revealSeconds", initial.revealSeconds);
        _setParam("appealSeconds", initial.appealSeconds);
        _setParam("voteBond", initial.voteBond);
        _setParam("nonVoterPenaltyBps", initial.nonVoterPenaltyBps);
        _setParam("penaltyToPotBps", initial.penaltyToPotBps);
        _setParam("appealFee", initial.appealFee);
    }

    // ------------------------------------------------------------------ parameters

    /// @inheritdoc ICommittee
    function setParameter(bytes32 name, uint256 value) external onlyRole(PARAMS_ROLE) {
        _setParam(name, value);
    }

    function _setParam(bytes32 name, uint256 value) internal {
        Params storage p = _params;
        if (name == "committeeSize") {
            _checkOdd(name, value);
            p.committeeSize = _checkParameter(name, p.committeeSize, value, p.minCommitteeSize, MAX_COMMITTEE_SIZE);
        } else if (name == "minCommitteeSize") {
            _checkOdd(name, value);
            uint256 max = p.committeeSize == 0 ? MAX_COMMITTEE_SIZE : p.committeeSize;
            p.minCommitteeSize = _checkParameter(name, p.minCommitteeSize, value, 1, max);
        } else if (name == "maxAppeals") {
            p.maxAppeals = _checkParameter(name, p.maxAppeals, value, 0, MAX_APPEALS);
        } else if (name == "drawDelayBlocks") {
            p.drawDelayBlocks = _checkParameter(name, p.drawDelayBlocks, value, 1, MAX_DRAW_DELAY_BLOCKS);
        } else if (name == "maxRedraws") {
            p.maxRedraws = _checkParameter(name, p.maxRedraws, value, 0, MAX_REDRAWS);
        } else if (name == "commitSeconds") {
            p.commitSeconds = _checkWindow(name, p.commitSeconds, value);
        } else if (name == "revealSeconds") {
            p.revealSeconds = _checkWindow(name, p.revealSeconds, value);
        } else if (name == "appealSeconds") {
            p.appealSeconds = _checkWindow(name, p.appealSeconds, value);
        } else if (name == "voteBond") {
            p.voteBond = _checkParameter(name, p.voteBond, value, 0, MAX_AMOUNT);
        } else if (name == "nonVoterPenaltyBps") {
            p.nonVoterPenaltyBps = _checkParameter(name, p.nonVoterPenaltyBps, value, 0, BPS);
        } else if (name == "penaltyToPotBps") {
            p.penaltyToPotBps = _checkParameter(name, p.penaltyToPotBps, value, 0, BPS);
        } else if (name == "appealFee") {
            p.appealFee = _checkParameter(name, p.appealFee, value, 0, MAX_AMOUNT);
        } else {
            revert CommitteeUnknownParameter(name);
        }
    }

    function _checkWindow(bytes32 name, uint256 oldValue, uint256 value) internal returns (uint256) {
        return _checkParameter(name, oldValue, value, MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS);
    }

    function _checkOdd(bytes32 name, uint256 value) internal pure {
        if (value % 2 == 0) revert CommitteeSizeNotOdd(name, value);
    }

    // ------------------------------------------------------------------ open and draw

    /// @inheritdoc IDisputeResolver
    /// @dev O(1): fixes round 0's target block; the fee is the committee's share of the bond.
    function openDispute(
        uint256 challengeId,
        uint256 batchId,
        uint32 leafIndex,
        address node,
        address challenger,
        bytes32 model,
        bytes32 leafHash,
        bytes32 profile
    ) external nonReentrant returns (uint256 disputeId) {
        if (msg.sender != address(game)) revert CommitteeOnlyGame(msg.sender);
        uint256 fee =
            (uint256(game.challengeOf(challengeId).bond) * IChallengeGameShare(address(game)).committeeShareBps()) /
                BPS;
        disputeId = ++disputeCount;
        Dispute storage d = _disputes[disputeId];
        d.challengeId = challengeId;
        d.batchId = batchId;
        d.node = node;
        d.leafIndex = leafIndex;
        d.maxRound = uint8(_params.maxAppeals);
        d.challenger = challenger;
        d.model = model;
        d.fee = uint128(fee);
        emit DisputeCreated(disputeId, batchId, leafIndex, node, challenger, model, leafHash, profile, fee);
        Round storage rd = _rounds[disputeId][0];
        rd.nominalSize = uint16(_params.committeeSize);
        rd.bond = uint128(_params.voteBond);
        _target(disputeId, d, rd, 0, false);
    }

    /// @inheritdoc ICommittee
    function draw(uint256 disputeId) external nonReentrant whenNotPaused {
        Dispute storage d = _expectPhase(disputeId, Phase.Drawing);
        uint8 r = d.round;
        Round storage rd = _rounds[disputeId][r];
        uint256 target = rd.targetBlock;
        if (block.number <= target) revert CommitteeTargetNotReached(disputeId, target, block.number);
        bytes32 seedHash = blockhash(target);
        // INVARIANT: a seed older than 256 blocks is unknown on chain; a new future block replaces it.
        if (seedHash == 0) {
            _target(disputeId, d, rd, r, true);
            return;
        }
        address[] memory found = _candidates(d, rd, keccak256(abi.encode(seedHash, disputeId, r)));
        uint256 count = found.length;
        if (count < _params.minCommitteeSize) {
            if (d.redraws < _params.maxRedraws) {
                ++d.redraws;
                _target(disputeId, d, rd, r, true);
                return;
            }
            emit CommitteeUnformed(disputeId, r, count, _params.minCommitteeSize);
            _unformed(disputeId, d, rd, r);
            return;
        }
        // INVARIANT: a committee has an odd number of seats.
        if (count % 2 == 0) {
            --count;
            // Reason: count < found.length, shortening a memory array in place.
            assembly {
                mstore(found, count)
            }
        }
        uint256 bond = rd.bond;
        for (uint256 i; i < count; ++i) {
            address member = found[i];
            _seats[disputeId][r][member].seated = true;
            _members[disputeId][r].push(member);
            if (bond != 0) staking.lock(member, bond);
        }
        uint64 commitEnd = uint64(block.timestamp + _params.commitSeconds);
        uint64 revealEnd = uint64(commitEnd + _params.revealSeconds);
        rd.size = uint16(count);
        rd.commitEnd = commitEnd;
        rd.revealEnd = revealEnd;
        rd.appealEnd = r < d.maxRound ? uint64(revealEnd + _params.appealSeconds) : revealEnd;
        emit CommitteeDrawn(disputeId, r, found, bond, commitEnd, revealEnd);
    }

    /// @dev Up to nominalSize distinct eligible validators, drawn with keccak(seed, attempt)
    /// against the weight recorded with the target (weights changed after the seed is known
    /// cannot re-aim the draw targets; docs/committees.md).
    function _candidates(
        Dispute storage d,
        Round storage rd,
        bytes32 seed
    ) internal view returns (address[] memory picked) {
        uint256 want = rd.nominalSize;
        uint256 bond = rd.bond;
        bytes32 model = d.model;
        address node = d.node;
        address challenger = d.challenger;
        uint256 weight = rd.weightAtTarget;
        if (weight == 0) weight = staking.totalValidatorWeight(model);
        picked = new address[](want);
        uint256 count;
        if (weight != 0) {
            uint256 attempts = want * DRAW_ATTEMPTS_PER_SEAT;
            for (uint256 i; i < attempts && count < want; ++i) {
                address c = staking.drawValidator(model, uint256(keccak256(abi.encode(seed, i))) % weight);
                if (c == address(0)) break;
                // INVARIANT: neither party sits on its own dispute, and nobody sits twice.
                if (c == node || c == challenger || _contains(picked, count, c)) continue;
                (uint256 free, , , ) = staking.stakeOf(c);
                if (free < bond) continue;
                picked[count++] = c;
            }
        }
        // Reason: count <= want, shortening a memory array in place.
        assembly {
            mstore(picked, count)
        }
    }

    function _contains(address[] memory list, uint256 count, address who) internal pure returns (bool) {
        for (uint256 i; i < count; ++i) if (list[i] == who) return true;
        return false;
    }

    function _target(uint256 disputeId, Dispute storage d, Round storage rd, uint8 r, bool retarget) internal {
        uint64 target = uint64(block.number + _params.drawDelayBlocks);
        uint256 weight = staking.totalValidatorWeight(d.model);
        rd.targetBlock = target;
        rd.weightAtTarget = weight;
        emit DrawTargeted(disputeId, r, target, weight, retarget);
    }

    /// @dev A round that cannot be formed: round 0 ends Neutral; an appeal round refunds its fee
    /// and the last decisive verdict stands.
    function _unformed(uint256 disputeId, Dispute storage d, Round storage rd, uint8 r) internal {
        rd.closed = true;
        uint256 fee = rd.appealFee;
        if (fee != 0) {
            d.pot -= uint128(fee);
            potsHeld -= fee;
            _credit(rd.appellant, fee);
        }
        emit RoundClosed(disputeId, r, Outcome.Pending, 0, 0, 0, 0);
        _resolve(disputeId, d);
    }

    // ------------------------------------------------------------------ votes

    /// @inheritdoc ICommittee
    function commitVote(uint256 disputeId, bytes32 commitment) external nonReentrant {
        Dispute storage d = _expectPhase(disputeId, Phase.Commit);
        uint8 r = d.round;
        Seat storage s = _seat(disputeId, r, msg.sender);
        if (s.commitment != 0) revert CommitteeAlreadyCommitted(disputeId, msg.sender);
        s.commitment = commitment;
        ++_rounds[disputeId][r].committed;
        emit VoteCommitted(disputeId, r, msg.sender, commitment);
    }

    /// @inheritdoc ICommittee
    function revealVote(uint256 disputeId, bool guilty, bytes32 salt) external nonReentrant {
        Dispute storage d = _expectPhase(disputeId, Phase.Reveal);
        uint8 r = d.round;
        Seat storage s = _seat(disputeId, r, msg.sender);
        // INVARIANT: a vote counts once, and only as committed.
        if (s.vote != 0 || s.commitment != Encodings.voteCommitment(disputeId, msg.sender, guilty, salt)) {
            revert CommitteeBadReveal(disputeId, msg.sender);
        }
        Round storage rd = _rounds[disputeId][r];
        if (guilty) {
            s.vote = VOTE_GUILTY;
            ++rd.guiltyVotes;
        } else {
            s.vote = VOTE_NOT_GUILTY;
            ++rd.notGuiltyVotes;
        }
        emit VoteRevealed(disputeId, r, msg.sender, guilty);
    }

    function _seat(uint256 disputeId, uint8 r, address member) internal view returns (Seat storage s) {
        s = _seats[disputeId][r][member];
        if (!s.seated) revert CommitteeNotMember(disputeId, r, member);
    }

    // ------------------------------------------------------------------ appeal and verdict

    /// @inheritdoc ICommittee
    function appeal(uint256 disputeId) external nonReentrant whenNotPaused {
        Dispute storage d = _expectPhase(disputeId, Phase.Appealable);
        uint8 r = d.round;
        Outcome o = roundOutcome(disputeId, r);
        // INVARIANT: only the party a round went against appeals it (either party after a tie).
        bool mayAppeal =
            (msg.sender == d.node && o != Outcome.NotGuilty) || (msg.sender == d.challenger && o != Outcome.Guilty);
        if (!mayAppeal) revert CommitteeNotAppellant(disputeId, msg.sender);
        Round storage prev = _rounds[disputeId][r];
        uint8 next = r + 1;
        Round storage rd = _rounds[disputeId][next];
        uint256 fee = _params.appealFee << r;
        rd.appellant = msg.sender;
        rd.appealFee = uint128(fee);
        // INVARIANT: an appeal doubles the committee (2n + 1 keeps it odd) and the vote bond.
        rd.nominalSize = prev.nominalSize * 2 + 1;
        rd.bond = prev.bond * 2;
        d.pot += uint128(fee);
        potsHeld += fee;
        d.round = next;
        d.redraws = 0;
        if (fee != 0) token.safeTransferFrom(msg.sender, address(this), fee);
        emit Appealed(disputeId, r, msg.sender, fee);
        _closeRound(disputeId, d, r);
        _target(disputeId, d, rd, next, false);
    }

    /// @inheritdoc ICommittee
    function finalize(uint256 disputeId) external nonReentrant {
        Dispute storage d = _expectPhase(disputeId, Phase.Finalizable);
        _closeRound(disputeId, d, d.round);
        _resolve(disputeId, d);
    }

    /// @dev Ends every bond of round `r`: voters get theirs back, non-voters lose
    /// nonVoterPenaltyBps of it (penaltyToPotBps of that to the pot, the rest burned). Loops over
    /// the round's seats only.
    function _closeRound(uint256 disputeId, Dispute storage d, uint8 r) internal {
        Round storage rd = _rounds[disputeId][r];
        rd.closed = true;
        address[] storage members = _members[disputeId][r];
        mapping(address member => Seat) storage seats = _seats[disputeId][r];
        uint256 n = members.length;
        uint256 bond = rd.bond;
        uint256 toPot;
        uint256 nonVoters;
        for (uint256 i; i < n; ++i) {
            address member = members[i];
            if (seats[member].vote != 0) {
                // INVARIANT: every vote bond ends when its round closes.
                if (bond != 0) staking.unlock(member, bond);
            } else {
                ++nonVoters;
                toPot += _penalize(disputeId, r, member, bond);
            }
        }
        if (toPot != 0) {
            d.pot += uint128(toPot);
            potsHeld += toPot;
        }
        emit RoundClosed(disputeId, r, roundOutcome(disputeId, r), rd.guiltyVotes, rd.notGuiltyVotes, nonVoters, toPot);
    }

    /// @dev Slashes a non-voter's penalty out of its bond and unlocks the rest; returns the part
    /// credited to this contract for the pot.
    function _penalize(uint256 disputeId, uint8 r, address member, uint256 bond) internal returns (uint256 toPot) {
        uint256 penalty = (bond * _params.nonVoterPenaltyBps) / BPS;
        uint256 slashed;
        if (penalty != 0) {
            uint256 potBps = _params.penaltyToPotBps;
            address[] memory who = new address[](1);
            uint256[] memory bps = new uint256[](1);
            who[0] = address(this);
            bps[0] = potBps;
            slashed = staking.slash(member, penalty, who, bps);
            // Same rounding as Staking's credit.
            toPot = (slashed * potBps) / BPS;
            emit NonVoterPenalized(disputeId, r, member, slashed);
        }
        // INVARIANT: every vote bond ends when its round closes (a slash took its first part).
        uint256 release = slashed < bond ? bond - slashed : 0;
        if (release != 0) staking.unlock(member, release);
    }

    /// @dev The last decisive round decides; none: Neutral. Calls the game exactly once and books
    /// what the verdict brought: to the reserve (which pays the fixed fee into the pot), or back
    /// to the challenger when Neutral.
    function _resolve(uint256 disputeId, Dispute storage d) internal {
        Outcome verdict = Outcome.Neutral;
        for (uint256 k = uint256(d.round) + 1; k > 0; --k) {
            Outcome o = roundOutcome(disputeId, uint8(k - 1));
            if (o == Outcome.Guilty || o == Outcome.NotGuilty) {
                verdict = o;
                break;
            }
        }
        // INVARIANT: the game hears one verdict per dispute (outcome is set before the call).
        d.outcome = verdict;
        uint256 before = game.creditOf(address(this)) + staking.creditOf(address(this));
        game.resolveDispute(d.challengeId, verdict == Outcome.Guilty);
        uint256 received = game.creditOf(address(this)) + staking.creditOf(address(this)) - before;
        uint256 pot = d.pot;
        uint256 weight;
        if (verdict == Outcome.Neutral) {
            // Nobody decided: the challenger gets the committee's share of its bond back, and what
            // was collected (penalties, appeal fees of rounds that ended in ties) joins the reserve.
            _credit(d.challenger, received);
            potsHeld -= pot;
            d.pot = 0;
            _addReserve(pot);
            pot = 0;
        } else {
            _addReserve(received);
            uint256 fee = d.fee;
            if (fee > reserve) fee = reserve;
            _subReserve(fee);
            pot += fee;
            d.pot = uint128(pot);
            potsHeld += fee;
            uint8 v = verdict == Outcome.Guilty ? VOTE_GUILTY : VOTE_NOT_GUILTY;
            for (uint256 k; k <= d.round; ++k) {
                Round storage rd = _rounds[disputeId][uint8(k)];
                weight += uint256(v == VOTE_GUILTY ? rd.guiltyVotes : rd.notGuiltyVotes) << k;
            }
            d.coherentWeight = uint128(weight);
        }
        emit DisputeResolved(disputeId, verdict, received, pot, weight);
    }

    // ------------------------------------------------------------------ pay

    /// @inheritdoc ICommittee
    function claimReward(uint256 disputeId, uint8 round) external nonReentrant returns (uint256 amount) {
        Dispute storage d = _expectPhase(disputeId, Phase.Resolved);
        Seat storage s = _seats[disputeId][round][msg.sender];
        Outcome verdict = d.outcome;
        uint8 v = verdict == Outcome.Guilty ? VOTE_GUILTY : VOTE_NOT_GUILTY;
        // INVARIANT: only members who voted the final verdict are paid, once per seat.
        if (verdict == Outcome.Neutral || s.vote != v) revert CommitteeNotCoherent(disputeId, round, msg.sender);
        if (s.claimed) revert CommitteeAlreadyClaimed(disputeId, round, msg.sender);
        s.claimed = true;
        amount = (uint256(d.pot) << round) / d.coherentWeight;
        d.paid += uint128(amount);
        potsHeld -= amount;
        _credit(msg.sender, amount);
        emit RewardClaimed(disputeId, round, msg.sender, amount);
    }

    /// @inheritdoc ICommittee
    function collect() public {
        if (game.creditOf(address(this)) != 0) game.withdrawCredits();
        if (staking.creditOf(address(this)) != 0) staking.withdrawCredits();
    }

    /// @inheritdoc ICommittee
    function withdrawCredits() external nonReentrant returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert CommitteeNoCredits(msg.sender);
        creditOf[msg.sender] = 0;
        totalCredits -= amount;
        if (token.balanceOf(address(this)) < amount) collect();
        token.safeTransfer(msg.sender, amount);
        emit CreditsWithdrawn(msg.sender, amount);
    }

    /// @inheritdoc ICommittee
    function fundReserve(uint256 amount) external nonReentrant {
        _addReserve(amount);
        token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc ICommittee
    function sweepReserve(uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (amount > reserve) revert CommitteeReserveTooLow(reserve, amount);
        _subReserve(amount);
        _credit(treasury, amount);
    }

    function _credit(address to, uint256 amount) internal {
        if (amount == 0) return;
        creditOf[to] += amount;
        totalCredits += amount;
        emit Credited(to, amount);
    }

    function _addReserve(uint256 amount) internal {
        if (amount == 0) return;
        reserve += amount;
        emit ReserveChanged(reserve, int256(amount));
    }

    function _subReserve(uint256 amount) internal {
        if (amount == 0) return;
        reserve -= amount;
        emit ReserveChanged(reserve, -int256(amount));
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ICommittee
    function phase(uint256 disputeId) public view returns (Phase) {
        Dispute storage d = _disputes[disputeId];
        if (d.node == address(0)) return Phase.None;
        if (d.outcome != Outcome.Pending) return Phase.Resolved;
        Round storage rd = _rounds[disputeId][d.round];
        if (rd.size == 0) return Phase.Drawing;
        if (block.timestamp <= rd.commitEnd) return Phase.Commit;
        if (block.timestamp <= rd.revealEnd) return Phase.Reveal;
        if (block.timestamp <= rd.appealEnd) return Phase.Appealable;
        return Phase.Finalizable;
    }

    /// @inheritdoc ICommittee
    function roundOutcome(uint256 disputeId, uint8 round) public view returns (Outcome) {
        Round storage rd = _rounds[disputeId][round];
        if (rd.size == 0) return Outcome.Pending;
        if (rd.guiltyVotes > rd.notGuiltyVotes) return Outcome.Guilty;
        if (rd.notGuiltyVotes > rd.guiltyVotes) return Outcome.NotGuilty;
        return Outcome.Neutral;
    }

    /// @inheritdoc ICommittee
    function disputeOf(uint256 disputeId) external view returns (Dispute memory) {
        return _disputes[disputeId];
    }

    /// @inheritdoc ICommittee
    function roundOf(uint256 disputeId, uint8 round) external view returns (Round memory) {
        return _rounds[disputeId][round];
    }

    /// @inheritdoc ICommittee
    function seatOf(uint256 disputeId, uint8 round, address member) external view returns (Seat memory) {
        return _seats[disputeId][round][member];
    }

    /// @inheritdoc ICommittee
    function membersOf(uint256 disputeId, uint8 round) external view returns (address[] memory) {
        return _members[disputeId][round];
    }

    /// @inheritdoc ICommittee
    function params() external view returns (Params memory) {
        return _params;
    }

    function _expectPhase(uint256 disputeId, Phase expected) internal view returns (Dispute storage d) {
        Phase current = phase(disputeId);
        if (current == Phase.None) revert CommitteeUnknownDispute(disputeId);
        if (current != expected) revert CommitteeWrongPhase(disputeId, current, expected);
        d = _disputes[disputeId];
    }
}
