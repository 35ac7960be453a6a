// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {SortitionTree} from "../libraries/SortitionTree.sol";

/// @notice Test-only: one SortitionTree in storage.
contract SortitionTreeHarness {
    using SortitionTree for SortitionTree.Tree;

    SortitionTree.Tree private _tree;

    function set(address account, uint256 weight) external returns (uint256) {
        return _tree.set(account, weight);
    }

    function draw(uint256 randomValue) external view returns (address) {
        return _tree.draw(randomValue);
    }

    function prefixSum(uint256 slot) external view returns (uint256) {
        return _tree.prefixSum(slot);
    }

    function weightOf(address account) external view returns (uint256) {
        return _tree.weightOf(account);
    }

    function slotOf(address account) external view returns (uint256) {
        return _tree.slotOf(account);
    }

    function total() external view returns (uint256) {
        return _tree.total;
    }

    function size() external view returns (uint256) {
        return _tree.size;
    }

    function freeSlotCount() external view returns (uint256) {
        return _tree.freeSlots.length;
    }
}
