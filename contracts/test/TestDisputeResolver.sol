// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IDisputeResolver} from "../interfaces/IDisputeResolver.sol";
import {IChallengeGame} from "../interfaces/IChallengeGame.sol";

/// @notice Test-only resolver: records disputes and lets the test decide them. The committee
/// contract replaces it in deployments.
contract TestDisputeResolver is IDisputeResolver {
    struct Dispute {
        uint256 challengeId;
        uint256 batchId;
        uint32 leafIndex;
        address node;
        address challenger;
        bytes32 model;
        bytes32 leafHash;
        bytes32 profile;
    }

    error OnlyTheGame(address caller);

    IChallengeGame public immutable game;
    Dispute[] public disputes;

    constructor(IChallengeGame game_) {
        game = game_;
    }

    function openDispute(
        uint256 challengeId,
        uint256 batchId,
        uint32 leafIndex,
        address node,
        address challenger,
        bytes32 model,
        bytes32 leafHash,
        bytes32 profile
    ) external returns (uint256 disputeId) {
        if (msg.sender != address(game)) revert OnlyTheGame(msg.sender);
        disputes.push(Dispute(challengeId, batchId, leafIndex, node, challenger, model, leafHash, profile));
        return disputes.length - 1;
    }

    function decide(uint256 disputeId, bool guilty) external {
        Dispute memory d = disputes[disputeId];
        game.resolveDispute(d.challengeId, guilty);
    }

    function count() external view returns (uint256) {
        return disputes.length;
    }
}
