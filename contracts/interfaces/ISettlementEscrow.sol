// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Encodings} from "../libraries/Encodings.sol";
import {IPairEscrow} from "./IPairEscrow.sol";

/// @title ISettlementEscrow
/// @notice The part of the pair escrow that batch settlement uses (SETTLER_ROLE only). Payments are
/// credited to the caller (the settlement contract), which splits them into node, royalty and fee
/// credits in its own ledger and withdraws from the escrow when its users withdraw.
interface ISettlementEscrow is IPairEscrow {
    /// @notice Pays min(`maxAmount`, voucher.cumulativeAmount - paid, balance) from the voucher's
    /// pair to the caller's credit, with the same signature and sequence rules as `redeemVoucher`;
    /// the voucher's throughSequence is recorded only when the voucher is paid in full. Returns 0
    /// (does not revert) when nothing is owed or the voucher is stale, so one stale voucher cannot
    /// block a chunk.
    function collectVoucher(
        Encodings.Voucher calldata voucher,
        bytes calldata signature,
        uint256 maxAmount
    ) external returns (uint256 paid);

    /// @notice Pays `tokensUsed * pricePerToken` for a single ticket from its pair to the caller's
    /// credit, with the same rules as `redeemTicket`. Returns the amount and the ticket id.
    function collectTicket(
        Encodings.Ticket calldata ticket,
        bytes calldata signature,
        uint32 tokensUsed
    ) external returns (uint256 paid, bytes32 ticketId);
}
