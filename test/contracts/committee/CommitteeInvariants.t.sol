// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {CommitteeFixture} from "./CommitteeFixture.sol";
import {Invariant} from "../utils/Invariant.sol";
import {Test} from "../utils/Test.sol";
import {Committee} from "../../../contracts/committee/Committee.sol";
import {ICommittee} from "../../../contracts/interfaces/ICommittee.sol";
import {IChallengeGame} from "../../../contracts/interfaces/IChallengeGame.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";

interface IOpener {
    function openForHandler(uint32 leafIndex) external returns (uint256 id);
}

/// @notice Drives disputes through random paths: draws (sometimes after the 256-block horizon),
/// partial commits and reveals, appeals by either party, finalization, claims and withdrawals.
/// Lives in this .t.sol file so the runner has its artifact.
contract CommitteeHandler is Test {
    Committee public immutable committee;
    IOpener public immutable opener;
    address public immutable node;
    address public immutable challenger;

    uint256 public calls;
    uint256 public opened;
    uint256 public resolved;
    uint256 public appeals;

    constructor(Committee committee_, IOpener opener_, address node_, address challenger_) {
        committee = committee_;
        opener = opener_;
        node = node_;
        challenger = challenger_;
    }

    function _salt(address member, bool guilty) internal pure returns (bytes32) {
        return keccak256(abi.encode("inv", member, guilty));
    }

    function _pick(uint256 seed) internal view returns (uint256 id) {
        uint256 n = committee.disputeCount();
        if (n == 0) return 0;
        return (seed % n) + 1;
    }

    function open(uint256 leafSeed) external {
        ++calls;
        if (committee.disputeCount() >= 12) return;
        opener.openForHandler(uint32(leafSeed % 4));
        ++opened;
    }

    /// @dev Moves dispute `idSeed` one to six phases on, with random choices.
    function advance(uint256 idSeed, uint256 choice) external {
        ++calls;
        uint256 id = _pick(idSeed);
        if (id == 0) return;
        uint256 steps = 1 + (choice % 6);
        for (uint256 k; k < steps; ++k) _step(id, uint256(keccak256(abi.encode(choice, k))));
    }

    function _step(uint256 id, uint256 choice) internal {
        ICommittee.Phase p = committee.phase(id);
        ICommittee.Dispute memory d = committee.disputeOf(id);
        ICommittee.Round memory rd = committee.roundOf(id, d.round);
        if (p == ICommittee.Phase.Drawing) {
            // One time in four, let the seed's blockhash expire first.
            vm.roll(choice % 4 == 0 ? rd.targetBlock + 300 : rd.targetBlock + 1);
            committee.draw(id);
        } else if (p == ICommittee.Phase.Commit) {
            address[] memory m = committee.membersOf(id, d.round);
            for (uint256 i; i < m.length; ++i) {
                uint256 bits = uint256(keccak256(abi.encode(choice, i)));
                if (bits % 5 == 0) continue; // abstains
                bool guilty = (bits >> 8) % 2 == 0;
                vm.prank(m[i]);
                committee.commitVote(id, Encodings.voteCommitment(id, m[i], guilty, _salt(m[i], guilty)));
            }
            vm.warp(rd.commitEnd + 1);
        } else if (p == ICommittee.Phase.Reveal) {
            address[] memory m = committee.membersOf(id, d.round);
            for (uint256 i; i < m.length; ++i) {
                ICommittee.Seat memory s = committee.seatOf(id, d.round, m[i]);
                if (s.commitment == 0 || uint256(keccak256(abi.encode(choice, i))) % 7 == 0) continue;
                bool guilty = s.commitment == Encodings.voteCommitment(id, m[i], true, _salt(m[i], true));
                vm.prank(m[i]);
                committee.revealVote(id, guilty, _salt(m[i], guilty));
            }
            vm.warp(rd.revealEnd + 1);
        } else if (p == ICommittee.Phase.Appealable) {
            if (choice % 3 == 0) {
                vm.warp(rd.appealEnd + 1);
                return;
            }
            vm.prank(choice % 2 == 0 ? node : challenger);
            (bool ok, ) = address(committee).call(abi.encodeCall(Committee.appeal, (id)));
            if (ok) ++appeals;
        } else if (p == ICommittee.Phase.Finalizable) {
            committee.finalize(id);
            ++resolved;
        } else if (p == ICommittee.Phase.Resolved) {
            for (uint8 r; r <= d.round; ++r) {
                address[] memory m = committee.membersOf(id, r);
                for (uint256 i; i < m.length; ++i) {
                    vm.prank(m[i]);
                    (bool ok, ) = address(committee).call(abi.encodeCall(Committee.claimReward, (id, r)));
                    ok;
                }
            }
        }
    }

    /// @dev Drives every dispute to its end (used after each run).
    function finishAll() external {
        uint256 n = committee.disputeCount();
        for (uint256 id = 1; id <= n; ++id) {
            for (uint256 k; k < 40 && committee.phase(id) != ICommittee.Phase.Resolved; ++k) {
                _step(id, uint256(keccak256(abi.encode("finish", id, k))));
            }
        }
    }

    function withdraw(uint256 idSeed, uint256 who) external {
        ++calls;
        uint256 id = _pick(idSeed);
        if (id == 0) return;
        address[] memory m = committee.membersOf(id, 0);
        address account = m.length == 0 || who % 3 == 0 ? challenger : m[who % m.length];
        vm.prank(account);
        (bool ok, ) = address(committee).call(abi.encodeCall(Committee.withdrawCredits, ()));
        ok;
    }
}

contract CommitteeInvariantsTest is CommitteeFixture, Invariant, IOpener {
    CommitteeHandler internal handler;

    function setUp() public override {
        super.setUp();
        token.faucet(validator, 1_000e18);
        handler = new CommitteeHandler(committee, this, node, validator);
        targetContract(address(handler));
        bytes4[] memory selectors = new bytes4[](3);
        selectors[0] = CommitteeHandler.open.selector;
        selectors[1] = CommitteeHandler.advance.selector;
        selectors[2] = CommitteeHandler.withdraw.selector;
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @dev Called by the handler: a fresh batch and a wrong-output dispute on one of its leaves.
    function openForHandler(uint32 leafIndex) external returns (uint256 id) {
        (id, , ) = _openOn(leafIndex);
    }

    /// @notice C1: the committee's tokens (held + owed by the game and Staking) equal its
    /// liabilities (credits + reserve + undistributed pots), on every path.
    function invariant_committeeBooksBalance() public view {
        _assertCommitteeBooks();
        assertEq(token.balanceOf(address(staking)), staking.totalStaked() + staking.totalCredits(), "staking");
        assertEq(token.balanceOf(address(game)), game.bondsHeld() + game.totalCredits(), "game");
    }

    /// @notice C2: every vote bond has an end: a validator's locked stake is exactly the bonds of
    /// the open (drawn, not closed) rounds it sits on; resolved disputes lock nothing.
    function invariant_everyBondHasAnEnd() public view {
        uint256 n = committee.disputeCount();
        for (uint256 v; v < validators.length; ++v) {
            uint256 expected;
            for (uint256 id = 1; id <= n; ++id) {
                ICommittee.Dispute memory d = committee.disputeOf(id);
                ICommittee.Round memory rd = committee.roundOf(id, d.round);
                if (rd.closed || rd.size == 0) continue;
                if (committee.seatOf(id, d.round, validators[v]).seated) expected += rd.bond;
            }
            assertEq(staking.lockedOf(validators[v]), expected, "locked == open bonds");
        }
    }

    /// @notice C3: the game heard exactly the verdicts of resolved disputes; pots never pay out
    /// more than they hold.
    function invariant_oneVerdictPerDispute() public view {
        uint256 n = committee.disputeCount();
        for (uint256 id = 1; id <= n; ++id) {
            ICommittee.Dispute memory d = committee.disputeOf(id);
            IChallengeGame.ChallengeStatus s = game.challengeOf(d.challengeId).status;
            if (d.outcome == ICommittee.Outcome.Pending) {
                assertEq(uint256(s), uint256(IChallengeGame.ChallengeStatus.Disputed), "still disputed");
            } else if (d.outcome == ICommittee.Outcome.Guilty) {
                assertEq(uint256(s), uint256(IChallengeGame.ChallengeStatus.Upheld), "upheld");
            } else {
                assertEq(uint256(s), uint256(IChallengeGame.ChallengeStatus.Cleared), "cleared");
            }
            assertLe(d.paid, d.pot, "paid <= pot");
            assertLe(d.round, d.maxRound, "bounded appeals");
        }
    }

    /// @notice C2 at the end of every run: after driving every dispute to its verdict, no vote
    /// bond is left locked, every dispute is resolved and the books still balance.
    function afterInvariant() public {
        assertGt(handler.calls(), 0, "handler called");
        handler.finishAll();
        uint256 n = committee.disputeCount();
        for (uint256 id = 1; id <= n; ++id) {
            assertEq(uint256(committee.phase(id)), uint256(ICommittee.Phase.Resolved), "every dispute ends");
        }
        assertEq(_lockedByMembers(), 0, "every bond ended");
        _assertCommitteeBooks();
    }
}
