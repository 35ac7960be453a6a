// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title IDisputeResolver
/// @notice Judges wrong-output disputes for BatchSettlement. The committee contract implements it;
/// until then tests use contracts/test/TestDisputeResolver.sol. The resolver must call
/// `IChallengeGame.resolveDispute(challengeId, guilty)` exactly once per opened dispute.
interface IDisputeResolver {
    /// @notice Opens a dispute over leaf `leafIndex` of `batchId`, whose data the node has posted.
    /// @param challengeId The challenge's id in the ChallengeGame (what `resolveDispute` takes).
    /// @param node The node that committed the leaf.
    /// @param challenger The validator that claims the output is wrong.
    /// @param model The leaf's model id (committee members must have declared it).
    /// @param leafHash The leaf's hash (its data is in the response's calldata).
    /// @param profile The determinism profile whose verification rule decides.
    /// @return disputeId The resolver's id for the dispute.
    function openDispute(
        uint256 challengeId,
        uint256 batchId,
        uint32 leafIndex,
        address node,
        address challenger,
        bytes32 model,
        bytes32 leafHash,
        bytes32 profile
    ) external returns (uint256 disputeId);
}
