// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {console} from "hardhat/console.sol";
import {CommitteeFixture} from "./CommitteeFixture.sol";
import {ICommittee} from "../../../contracts/interfaces/ICommittee.sol";
import {IBatchSettlement} from "../../../contracts/interfaces/IBatchSettlement.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";

/// @notice Gas of the dispute path measured with gasleft() deltas (warm test-call context, so
/// figures exclude the 21,000 base, calldata and most cold-access costs). The logged figures are
/// copied into docs/committees.md.
contract CommitteeGasTest is CommitteeFixture {
    /// @dev EIP-7825 cap per transaction (Osaka). Only this bound is asserted: coverage
    /// instrumentation inflates the figures, and the committed gas snapshot is the lead's.
    uint256 internal constant TX_GAS_CAP = 16_777_216;

    function test_gas_disputePath() public {
        Encodings.Leaf[] memory ls = _leaves(4, 2);
        (uint256 batchId, IBatchSettlement.BatchHeader memory h) = _commit(ls);
        _challenge(batchId, h, 1, Encodings.CHALLENGE_WRONG_OUTPUT);
        bytes32[] memory proof = _proof(ls, 1);

        uint256 g = gasleft();
        game.respondToChallenge(chId[batchId][1], batchId, h, ls[1], proof, _data(1));
        uint256 respond = g - gasleft();
        uint256 id = committee.disputeCount();

        // openDispute alone, called as the game would (its bond read returns 0 here).
        vm.prank(address(game));
        g = gasleft();
        committee.openDispute(1, batchId, 2, node, validator, MODEL_A, bytes32(0), PROFILE);
        uint256 open = g - gasleft();

        _rollPastTarget(id);
        g = gasleft();
        committee.draw(id);
        uint256 draw5 = g - gasleft();
        address[] memory m = committee.membersOf(id, 0);

        bytes32 c = Encodings.voteCommitment(id, m[0], true, _salt(m[0], true));
        vm.prank(m[0]);
        g = gasleft();
        committee.commitVote(id, c);
        uint256 commit = g - gasleft();
        for (uint256 i = 1; i < 4; ++i) _commitVote(id, m[i], true);
        vm.warp(committee.roundOf(id, 0).commitEnd + 1);
        vm.prank(m[0]);
        g = gasleft();
        committee.revealVote(id, true, _salt(m[0], true));
        uint256 reveal = g - gasleft();
        for (uint256 i = 1; i < 4; ++i) _revealVote(id, m[i], true);
        _toFinal(id);
        g = gasleft();
        committee.finalize(id); // 4 voters, 1 non-voter penalized, game resolves guilty
        uint256 finalize5 = g - gasleft();
        vm.prank(m[0]);
        g = gasleft();
        committee.claimReward(id, 0);
        uint256 claim = g - gasleft();

        console.log("respondToChallenge incl. openDispute", respond);
        console.log("openDispute", open);
        console.log("draw (5 seats)", draw5);
        console.log("commitVote", commit);
        console.log("revealVote", reveal);
        console.log("finalize (5 seats, 1 non-voter, guilty)", finalize5);
        console.log("claimReward", claim);
        assertLt(open, TX_GAS_CAP, "open fits a transaction");
        assertLt(commit, TX_GAS_CAP, "commit fits a transaction");
        assertLt(reveal, TX_GAS_CAP, "reveal fits a transaction");
        assertLt(draw5, TX_GAS_CAP, "draw 5 fits a transaction");
        assertLt(finalize5, TX_GAS_CAP, "finalize 5 fits a transaction");
    }

    function test_gas_appealRoundOfEleven() public {
        uint256 id = _open();
        _vote(id, _draw(id), 3, 2);
        vm.prank(node);
        uint256 g = gasleft();
        committee.appeal(id);
        uint256 appealGas = g - gasleft();
        _rollPastTarget(id);
        g = gasleft();
        committee.draw(id);
        uint256 draw11 = g - gasleft();
        address[] memory m = committee.membersOf(id, 1);
        _vote(id, m, 6, 4);
        _toFinal(id);
        g = gasleft();
        committee.finalize(id);
        uint256 finalize11 = g - gasleft();
        console.log("appeal (closes 5 seats)", appealGas);
        console.log("draw (11 seats)", draw11);
        console.log("finalize (11 seats, 1 non-voter)", finalize11);
        assertEq(uint256(committee.disputeOf(id).outcome), uint256(ICommittee.Outcome.Guilty), "guilty");
        assertLt(draw11, TX_GAS_CAP, "draw 11 fits a transaction");
        assertLt(finalize11, TX_GAS_CAP, "finalize 11 fits a transaction");
    }
}
