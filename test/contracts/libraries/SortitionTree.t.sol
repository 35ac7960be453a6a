// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "../utils/Test.sol";
import {SortitionTreeHarness} from "../../../contracts/test/SortitionTreeHarness.sol";

contract SortitionTreeTest is Test {
    SortitionTreeHarness internal tree;

    function setUp() public {
        tree = new SortitionTreeHarness();
    }

    function _account(uint256 i) internal pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    function test_set_new_appendsSlot() public {
        assertEq(tree.set(_account(1), 5), 0, "old weight");
        assertEq(tree.slotOf(_account(1)), 1, "slot");
        assertEq(tree.weightOf(_account(1)), 5, "weight");
        assertEq(tree.total(), 5, "total");
        assertEq(tree.size(), 1, "size");
    }

    function test_set_same_noop() public {
        tree.set(_account(1), 5);
        assertEq(tree.set(_account(1), 5), 5, "old weight");
        assertEq(tree.total(), 5, "total");
    }

    function test_set_zeroForAbsent_noop() public {
        assertEq(tree.set(_account(1), 0), 0, "nothing");
        assertEq(tree.size(), 0, "no slot");
    }

    function test_set_increaseDecrease_updatesSums() public {
        for (uint256 i = 1; i <= 5; ++i) tree.set(_account(i), i);
        tree.set(_account(2), 10);
        tree.set(_account(4), 1);
        assertEq(tree.total(), 1 + 10 + 3 + 1 + 5, "total");
        assertEq(tree.prefixSum(5), tree.total(), "prefix of all");
        assertEq(tree.prefixSum(2), 11, "prefix 2");
        assertEq(tree.prefixSum(4), 15, "prefix 4");
    }

    function test_set_removeThenAdd_reusesSlot() public {
        for (uint256 i = 1; i <= 3; ++i) tree.set(_account(i), 10);
        tree.set(_account(2), 0);
        assertEq(tree.freeSlotCount(), 1, "freed");
        assertEq(tree.slotOf(_account(2)), 0, "absent");
        tree.set(_account(9), 7);
        assertEq(tree.slotOf(_account(9)), 2, "reused");
        assertEq(tree.size(), 3, "no growth");
        assertEq(tree.freeSlotCount(), 0, "free list empty");
        assertEq(tree.prefixSum(2), 17, "prefix");
    }

    function test_draw_empty_returnsZero() public view {
        assertEq(tree.draw(123), address(0), "empty");
    }

    function test_draw_intervals_exact() public {
        // Weights 3, 0 (removed), 5, 2: intervals [0,3) -> 1, [3,8) -> 3, [8,10) -> 4.
        tree.set(_account(1), 3);
        tree.set(_account(2), 4);
        tree.set(_account(3), 5);
        tree.set(_account(4), 2);
        tree.set(_account(2), 0);
        for (uint256 r; r < 10; ++r) {
            address expected = r < 3 ? _account(1) : (r < 8 ? _account(3) : _account(4));
            assertEq(tree.draw(r), expected, "interval");
            assertEq(tree.draw(r + 10 * 77), expected, "modulo");
        }
    }

    function test_draw_distribution_1to2to7() public {
        tree.set(_account(1), 1e18);
        tree.set(_account(2), 2e18);
        tree.set(_account(3), 7e18);
        uint256[3] memory hits;
        for (uint256 i; i < 2_000; ++i) {
            address drawn = tree.draw(uint256(keccak256(abi.encode(i))));
            hits[uint160(drawn) - 0x1001]++;
        }
        assertApproxEqAbs(hits[0], 200, 60, "10%");
        assertApproxEqAbs(hits[1], 400, 80, "20%");
        assertApproxEqAbs(hits[2], 1_400, 92, "70%");
    }

    /// Random sequence of sets over 12 accounts: total, prefix sums and every interval stay consistent.
    function testFuzz_set_randomSequence_sumsConsistent(uint256 seed) public {
        uint256[12] memory weights;
        for (uint256 step; step < 40; ++step) {
            uint256 r = uint256(keccak256(abi.encode(seed, step)));
            uint256 i = r % 12;
            uint256 w = (r >> 8) % 4 == 0 ? 0 : (r >> 16) % 1e21;
            tree.set(_account(i), w);
            weights[i] = w;
        }
        uint256 sum;
        for (uint256 i; i < 12; ++i) {
            sum += weights[i];
            assertEq(tree.weightOf(_account(i)), weights[i], "weight");
        }
        assertEq(tree.total(), sum, "total");
        assertEq(tree.prefixSum(tree.size()), sum, "prefix of all slots");
        // Each slot's prefix difference equals its member's weight.
        for (uint256 i; i < 12; ++i) {
            uint256 slot = tree.slotOf(_account(i));
            if (slot == 0) continue;
            assertEq(tree.prefixSum(slot) - tree.prefixSum(slot - 1), weights[i], "slot weight");
            // A draw at the start of the slot's interval returns the member.
            if (weights[i] > 0) assertEq(tree.draw(tree.prefixSum(slot - 1)), _account(i), "interval start");
        }
        if (sum > 0) assertTrue(tree.draw(seed) != address(0), "draw hits a member");
    }
}
