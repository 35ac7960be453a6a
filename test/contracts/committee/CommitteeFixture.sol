// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {SettlementFixture} from "../settlement/SettlementFixture.sol";
import {Committee} from "../../../contracts/committee/Committee.sol";
import {ICommittee} from "../../../contracts/interfaces/ICommittee.sol";
import {IBatchSettlement} from "../../../contracts/interfaces/IBatchSettlement.sol";
import {IDisputeResolver} from "../../../contracts/interfaces/IDisputeResolver.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";

/// @notice The settlement fixture with the Committee as the game's resolver and `VALIDATORS`
/// staked validators declared for MODEL_A (plus the node and the challenger, who must never sit).
abstract contract CommitteeFixture is SettlementFixture {
    uint256 internal constant VALIDATORS = 14;
    uint256 internal constant VALIDATOR_STAKE = 2_000e18;
    uint256 internal constant SIZE = 5;
    uint256 internal constant MIN_SIZE = 3;
    uint256 internal constant MAX_APPEALS = 2;
    uint256 internal constant DELAY_BLOCKS = 5;
    uint256 internal constant MAX_REDRAWS = 1;
    uint256 internal constant COMMIT_SECONDS = 600;
    uint256 internal constant REVEAL_SECONDS = 600;
    uint256 internal constant APPEAL_SECONDS = 600;
    uint256 internal constant VOTE_BOND = 10e18;
    uint256 internal constant PENALTY_BPS = 5_000;
    uint256 internal constant PENALTY_POT_BPS = 5_000;
    uint256 internal constant APPEAL_FEE = 20e18;
    /// @dev The committee's share of the challenge bond (what members share for a dispute).
    uint256 internal constant FEE = (BOND * COMMITTEE_BPS) / 10_000;

    Committee internal committee;
    address[] internal validators;
    Encodings.Leaf[] internal _batchLeaves;

    function setUp() public virtual override {
        super.setUp();
        vm.roll(50);
        vm.prevrandao(bytes32(uint256(0xbeac0)));
        vm.startPrank(admin);
        committee = new Committee(admin, token, game, staking, treasury, _defaultParams());
        game.setResolver(IDisputeResolver(address(committee)));
        game.grantRole(game.RESOLVER_ROLE(), address(committee));
        staking.grantRole(staking.LOCKER_ROLE(), address(committee));
        staking.grantRole(staking.SLASHER_ROLE(), address(committee));
        vm.stopPrank();

        for (uint256 i; i < VALIDATORS; ++i) {
            address v = vm.addr(0xB000 + i);
            vm.label(v, string.concat("member", _itoa(i)));
            validators.push(v);
            _stake(v, VALIDATOR_STAKE);
            vm.prank(v);
            staking.declareValidator(_models(MODEL_A));
        }
        // The parties are validators of the model too: the draw must skip them.
        vm.prank(validator);
        staking.declareValidator(_models(MODEL_A));
        vm.prank(node);
        staking.declareValidator(_models(MODEL_A));
        // Both parties can pay appeal fees.
        token.faucet(node, 1_000e18);
        vm.prank(node);
        token.approve(address(committee), type(uint256).max);
        vm.prank(validator);
        token.approve(address(committee), type(uint256).max);
    }

    function _defaultParams() internal pure returns (ICommittee.Params memory) {
        return
            ICommittee.Params({
                committeeSize: SIZE,
                minCommitteeSize: MIN_SIZE,
                maxAppeals: MAX_APPEALS,
                drawDelayBlocks: DELAY_BLOCKS,
                maxRedraws: MAX_REDRAWS,
                commitSeconds: COMMIT_SECONDS,
                revealSeconds: REVEAL_SECONDS,
                appealSeconds: APPEAL_SECONDS,
                voteBond: VOTE_BOND,
                nonVoterPenaltyBps: PENALTY_BPS,
                penaltyToPotBps: PENALTY_POT_BPS,
                appealFee: APPEAL_FEE
            });
    }

    // ------------------------------------------------------------------ disputes

    /// @dev Commits a 4-leaf batch, challenges leaf `leafIndex` for wrong output and posts its
    /// data: the game opens a dispute with the committee.
    function _openOn(
        uint32 leafIndex
    ) internal returns (uint256 id, uint256 batchId, IBatchSettlement.BatchHeader memory h) {
        Encodings.Leaf[] memory ls = _leaves(4, 2);
        delete _batchLeaves;
        for (uint256 i; i < ls.length; ++i) _batchLeaves.push(ls[i]);
        (batchId, h) = _commit(ls);
        uint256 cid = _challenge(batchId, h, leafIndex, Encodings.CHALLENGE_WRONG_OUTPUT);
        game.respondToChallenge(cid, batchId, h, ls[leafIndex], _proof(ls, leafIndex), _data(leafIndex));
        id = committee.disputeCount();
    }

    function _open() internal returns (uint256 id) {
        (id, , ) = _openOn(1);
    }

    function _rollPastTarget(uint256 id) internal {
        ICommittee.Dispute memory d = committee.disputeOf(id);
        uint256 target = committee.roundOf(id, d.round).targetBlock;
        if (block.number <= target) vm.roll(target + 1);
    }

    function _draw(uint256 id) internal returns (address[] memory members) {
        _rollPastTarget(id);
        committee.draw(id);
        members = committee.membersOf(id, committee.disputeOf(id).round);
    }

    function _salt(address member, bool guilty) internal pure returns (bytes32) {
        return keccak256(abi.encode("salt", member, guilty));
    }

    function _commitVote(uint256 id, address member, bool guilty) internal {
        vm.prank(member);
        committee.commitVote(id, Encodings.voteCommitment(id, member, guilty, _salt(member, guilty)));
    }

    function _revealVote(uint256 id, address member, bool guilty) internal {
        vm.prank(member);
        committee.revealVote(id, guilty, _salt(member, guilty));
    }

    /// @dev The first `g` members vote guilty, the next `ng` not guilty, the rest abstain; moves
    /// the clock to the end of the reveal window.
    function _vote(uint256 id, address[] memory members, uint256 g, uint256 ng) internal {
        for (uint256 i; i < g + ng; ++i) _commitVote(id, members[i], i < g);
        ICommittee.Round memory rd = committee.roundOf(id, committee.disputeOf(id).round);
        vm.warp(uint256(rd.commitEnd) + 1);
        for (uint256 i; i < g + ng; ++i) _revealVote(id, members[i], i < g);
        vm.warp(uint256(rd.revealEnd) + 1);
    }

    function _toFinal(uint256 id) internal {
        ICommittee.Round memory rd = committee.roundOf(id, committee.disputeOf(id).round);
        vm.warp(uint256(rd.appealEnd) + 1);
    }

    function _lockedByMembers() internal view returns (uint256 total) {
        for (uint256 i; i < validators.length; ++i) total += staking.lockedOf(validators[i]);
    }

    /// @dev Token-side assets of the committee == its liabilities (exact unless tokens were sent).
    function _assertCommitteeBooks() internal view {
        uint256 assets =
            token.balanceOf(address(committee)) +
                game.creditOf(address(committee)) +
                staking.creditOf(address(committee));
        uint256 owed = committee.totalCredits() + committee.reserve() + committee.potsHeld();
        assertEq(assets, owed, "committee books balance");
    }
}
