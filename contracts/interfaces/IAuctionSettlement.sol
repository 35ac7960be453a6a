// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title IAuctionSettlement
/// @notice The part of the auction market that batch settlement uses (SETTLER_ROLE only): a won
/// and delivered job is paid when the batch leaf that carries it settles.
interface IAuctionSettlement {
    /// @notice A delivered job's held payment was collected by the settlement (`paid`), the rest
    /// of it refunded to the requester.
    event JobCollected(uint256 indexed jobId, address indexed node, uint256 paid, uint256 refunded);
    /// @notice A delivered job was not settled in time: its held payment went back to the requester.
    event UnsettledRefunded(uint256 indexed jobId, address indexed requester, uint256 amount);
    /// @notice The settlement contract changed.
    event SettlementSet(address settlement);

    /// @notice The caller is not the settlement contract.
    error AuctionNotSettlement(address caller);
    /// @notice The job has no held payment, or its settlement time has not run out.
    error AuctionNotUnsettled(uint256 jobId, uint256 held, uint256 refundableAt);

    /// @notice Pays min(price, `maxAmount`) of job `jobId` to the caller's credit if `node` won it
    /// and recorded delivery of `output`, refunds the rest of the job's escrow to its requester, and
    /// marks it paid. Returns 0 (does not revert) when the job is not payable to this node for this
    /// output, or was already paid, so one bad leaf cannot block a chunk.
    function collectJob(uint256 jobId, address node, bytes32 output, uint256 maxAmount) external returns (uint256 paid);

    /// @notice Refunds a delivered job's held payment to its requester once `settleTimeout` has
    /// passed since the delivery deadline without the settlement collecting it (the node's batch
    /// was voided, or never committed). Anyone may call.
    function claimUnsettled(uint256 jobId) external;

    /// @notice Sets the settlement contract; zero pays winners at delivery (standalone market).
    function setSettlement(address settlement) external;

    /// @notice The payment held for a delivered job until its batch settles.
    function heldOf(uint256 jobId) external view returns (uint256);
}
