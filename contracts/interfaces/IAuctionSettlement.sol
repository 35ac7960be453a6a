// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title IAuctionSettlement
/// @notice The part of the auction market that batch settlement uses (SETTLER_ROLE only): a won
/// and delivered job is paid when the batch leaf that carries it settles.
interface IAuctionSettlement {
    /// @notice Pays min(price, `maxAmount`) of job `jobId` to the caller's credit if `node` won it
    /// and recorded delivery of `output`, refunds the rest of the job's escrow to its requester, and
    /// marks it paid. Returns 0 (does not revert) when the job is not payable to this node for this
    /// output, or was already paid, so one bad leaf cannot block a chunk.
    function collectJob(uint256 jobId, address node, bytes32 output, uint256 maxAmount) external returns (uint256 paid);
}
