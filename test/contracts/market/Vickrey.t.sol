// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "../utils/Test.sol";
import {VickreyHarness} from "../../../contracts/test/market/VickreyHarness.sol";

/// @notice The best-two library against a sort-based reference, on random bid sets and reveal orders.
contract VickreyTest is Test {
    VickreyHarness internal harness;

    function setUp() public {
        harness = new VickreyHarness();
    }

    /// @dev Reference: sort valid bids by (price, order); winner first, price = second or reserve.
    function _reference(
        uint256[] memory prices,
        uint256[] memory orders,
        uint256 reserve
    ) internal pure returns (uint256 winner, uint256 price) {
        winner = type(uint256).max;
        uint256 second = type(uint256).max;
        for (uint256 i; i < prices.length; ++i) {
            if (prices[i] > reserve) continue;
            if (
                winner == type(uint256).max ||
                prices[i] < prices[winner] ||
                (prices[i] == prices[winner] && orders[i] < orders[winner])
            ) {
                if (winner != type(uint256).max) second = prices[winner];
                winner = i;
            } else if (prices[i] < second) {
                second = prices[i];
            }
        }
        if (winner == type(uint256).max) return (winner, 0);
        price = second == type(uint256).max ? reserve : second;
    }

    function testFuzz_run_matchesReference(uint256 seed, uint8 count, uint256 reserve) public view {
        uint256 n = bound(count, 0, 40);
        reserve = bound(reserve, 1, 1e30);
        uint256[] memory prices = new uint256[](n);
        uint256[] memory orders = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            uint256 r = uint256(keccak256(abi.encode(seed, i)));
            // Few distinct prices so ties are common; some above the reserve.
            prices[i] = (r % 8) * (reserve / 6 + 1);
            orders[i] = i;
        }
        // Shuffle the commit orders so reveal order differs from commit order.
        for (uint256 i = n; i > 1; --i) {
            uint256 j = uint256(keccak256(abi.encode(seed, "shuffle", i))) % i;
            (orders[i - 1], orders[j]) = (orders[j], orders[i - 1]);
        }
        (uint256 w, uint256 p) = harness.run(prices, orders, reserve);
        (uint256 rw, uint256 rp) = _reference(prices, orders, reserve);
        assertEq(w, rw, "winner");
        assertEq(p, rp, "price");
        if (w != type(uint256).max) assertLe(prices[w], p, "winner paid at least its bid");
    }

    function test_run_zeroPriceAndSingleBid() public view {
        uint256[] memory prices = new uint256[](1);
        uint256[] memory orders = new uint256[](1);
        (uint256 w, uint256 p) = harness.run(prices, orders, 5);
        assertEq(w, 0, "zero price wins");
        assertEq(p, 5, "alone: reserve");
        prices = new uint256[](2);
        orders = new uint256[](2);
        orders[1] = 1;
        (w, p) = harness.run(prices, orders, 5);
        assertEq(w, 0, "earlier order");
        assertEq(p, 0, "zero second price is representable");
    }
}
