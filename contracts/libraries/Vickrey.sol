// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title Vickrey
/// @notice Best-two tracking and pricing of a sealed-bid second-price (Vickrey) reverse auction: the
/// lowest price wins and is paid the second-lowest revealed price, or the reserve when alone.
/// @dev O(1) per reveal and no list of bidders, so there is no cap on bidders. A bid is ranked by
/// (price, order): lower price first, then the earlier commit (lower `order`). The second price is
/// kept as `secondPlusOne` (0 = no second bid), so a price of zero stays representable.
/// agents/lib/vickrey.ts is the TypeScript reference; the market's tests check both agree.
library Vickrey {
    /// @notice Whether a bid (price, order) ranks before the current best (bestPrice, bestOrder).
    function beats(uint256 price, uint256 order, uint256 bestPrice, uint256 bestOrder) internal pure returns (bool) {
        return price < bestPrice || (price == bestPrice && order < bestOrder);
    }

    /// @notice The second price (plus one) after a bid that did not become the best is revealed.
    function secondAfterLoser(uint256 secondPlusOne, uint256 price) internal pure returns (uint256) {
        return secondPlusOne == 0 || price < secondPlusOne - 1 ? price + 1 : secondPlusOne;
    }

    /// @notice The second price (plus one) after a bid displaced the best: the old best becomes second,
    /// since it was at most the old second.
    function secondAfterNewBest(
        bool hadBest,
        uint256 oldBestPrice,
        uint256 secondPlusOne
    ) internal pure returns (uint256) {
        return hadBest ? oldBestPrice + 1 : secondPlusOne;
    }

    /// @notice What the winner is paid per token: the second price, or the reserve when alone.
    function clearingPrice(uint256 secondPlusOne, uint256 reservePrice) internal pure returns (uint256) {
        return secondPlusOne == 0 ? reservePrice : secondPlusOne - 1;
    }
}
