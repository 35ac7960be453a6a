// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

/// @title SortitionTree
/// @notice Weighted set of accounts with O(log n) weight updates and O(log n) draws proportional to
/// weight. A Fenwick (binary indexed) tree over 1-based slots lives in storage; each member holds
/// one slot, slots of members that leave are reused.
/// @dev The tree grows one slot at a time: a new last slot's node is initialised from its Fenwick
/// children, so no existing node needs to change. Draws walk down by binary lifting.
library SortitionTree {
    /// @notice A member's slot (1-based, 0 = absent) and weight.
    struct Member {
        uint64 slot;
        uint192 weight;
    }

    struct Tree {
        uint256 size;
        uint256 total;
        uint256[] freeSlots;
        mapping(uint256 slot => uint256 partialSum) nodes;
        mapping(uint256 slot => address account) owners;
        mapping(address account => Member member) members;
    }

    /// @notice Sets `account`'s weight (0 removes it). Returns the previous weight.
    function set(Tree storage tree, address account, uint256 weight) internal returns (uint256 oldWeight) {
        Member memory member = tree.members[account];
        oldWeight = member.weight;
        if (oldWeight == weight) return oldWeight;
        if (member.slot == 0) {
            // Absent and weight > 0: take a free slot or grow.
            uint256 slot;
            uint256 freeCount = tree.freeSlots.length;
            if (freeCount != 0) {
                slot = tree.freeSlots[freeCount - 1];
                tree.freeSlots.pop();
                _add(tree, slot, weight);
            } else {
                slot = tree.size + 1;
                tree.nodes[slot] = weight + _childrenSum(tree, slot);
                tree.size = slot;
            }
            tree.owners[slot] = account;
            tree.members[account] = Member({slot: SafeCast.toUint64(slot), weight: SafeCast.toUint192(weight)});
        } else if (weight == 0) {
            _sub(tree, member.slot, oldWeight);
            delete tree.owners[member.slot];
            delete tree.members[account];
            tree.freeSlots.push(member.slot);
        } else {
            if (weight > oldWeight) _add(tree, member.slot, weight - oldWeight);
            else _sub(tree, member.slot, oldWeight - weight);
            tree.members[account].weight = SafeCast.toUint192(weight);
        }
        // INVARIANT: total equals the sum of member weights.
        tree.total = tree.total - oldWeight + weight;
    }

    /// @notice The member whose cumulative weight interval contains `randomValue % total`; zero
    /// address when the tree is empty.
    function draw(Tree storage tree, uint256 randomValue) internal view returns (address) {
        uint256 total = tree.total;
        if (total == 0) return address(0);
        uint256 target = randomValue % total;
        uint256 size = tree.size;
        uint256 pos = 0;
        // Binary lifting: find the largest pos with prefixSum(pos) <= target; the answer is pos + 1.
        for (uint256 step = 1 << Math.log2(size); step != 0; step >>= 1) {
            uint256 next = pos + step;
            if (next <= size) {
                uint256 nodeSum = tree.nodes[next];
                if (nodeSum <= target) {
                    pos = next;
                    target -= nodeSum;
                }
            }
        }
        return tree.owners[pos + 1];
    }

    /// @notice Sum of the weights in slots 1..slot.
    function prefixSum(Tree storage tree, uint256 slot) internal view returns (uint256 sum) {
        for (uint256 i = slot; i != 0; i -= _lowbit(i)) sum += tree.nodes[i];
    }

    /// @notice The member's weight (0 if absent).
    function weightOf(Tree storage tree, address account) internal view returns (uint256) {
        return tree.members[account].weight;
    }

    /// @notice The member's slot (0 if absent).
    function slotOf(Tree storage tree, address account) internal view returns (uint256) {
        return tree.members[account].slot;
    }

    function _add(Tree storage tree, uint256 slot, uint256 delta) private {
        uint256 size = tree.size;
        for (uint256 i = slot; i <= size; i += _lowbit(i)) tree.nodes[i] += delta;
    }

    function _sub(Tree storage tree, uint256 slot, uint256 delta) private {
        uint256 size = tree.size;
        for (uint256 i = slot; i <= size; i += _lowbit(i)) tree.nodes[i] -= delta;
    }

    /// @dev Sum of the Fenwick children of `slot`: slot-1, then down by lowest bits while inside
    /// the range slot covers, (slot - lowbit(slot), slot).
    function _childrenSum(Tree storage tree, uint256 slot) private view returns (uint256 sum) {
        uint256 floor = slot - _lowbit(slot);
        for (uint256 j = slot - 1; j > floor; j -= _lowbit(j)) sum += tree.nodes[j];
    }

    /// @dev Lowest set bit of i (0 for 0).
    function _lowbit(uint256 i) private pure returns (uint256) {
        // Two's complement negation: ~i + 1 wraps only for i == 0, where the result is 0 & 0 = 0.
        unchecked {
            return i & (~i + 1);
        }
    }
}
