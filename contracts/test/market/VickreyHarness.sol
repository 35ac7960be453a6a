// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Vickrey} from "../../libraries/Vickrey.sol";

/// @notice Test-only: drives the Vickrey library over a list of revealed bids, as the market does.
contract VickreyHarness {
    /// @notice Runs the reveal sequence; returns the winner's index (type(uint256).max if none) and price.
    /// @param prices Revealed prices in reveal order.
    /// @param orders Each bid's commit order (distinct).
    function run(
        uint256[] calldata prices,
        uint256[] calldata orders,
        uint256 reservePrice
    ) external pure returns (uint256 winner, uint256 price) {
        winner = type(uint256).max;
        uint256 bestPrice;
        uint256 bestOrder;
        uint256 secondPlusOne;
        for (uint256 i; i < prices.length; ++i) {
            uint256 p = prices[i];
            if (p > reservePrice) continue;
            bool hadBest = winner != type(uint256).max;
            if (!hadBest || Vickrey.beats(p, orders[i], bestPrice, bestOrder)) {
                secondPlusOne = Vickrey.secondAfterNewBest(hadBest, bestPrice, secondPlusOne);
                winner = i;
                bestPrice = p;
                bestOrder = orders[i];
            } else {
                secondPlusOne = Vickrey.secondAfterLoser(secondPlusOne, p);
            }
        }
        price = winner == type(uint256).max ? 0 : Vickrey.clearingPrice(secondPlusOne, reservePrice);
    }
}
