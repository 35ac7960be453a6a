// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Reputation} from "../libraries/Reputation.sol";

/// @notice Test-only: exposes the Reputation library.
contract ReputationHarness {
    function decay(uint256 value, uint256 elapsedSeconds, uint256 halfLifeSeconds) external pure returns (uint256) {
        return Reputation.decay(value, elapsedSeconds, halfLifeSeconds);
    }

    function valueAt(
        Reputation.State memory state,
        uint256 nowSeconds,
        uint256 halfLifeSeconds
    ) external pure returns (uint256) {
        return Reputation.valueAt(state, nowSeconds, halfLifeSeconds);
    }

    function blend(
        uint256 current,
        uint256 score,
        uint256 eventValue,
        uint256 memoryWeight
    ) external pure returns (uint256) {
        return Reputation.blend(current, score, eventValue, memoryWeight);
    }

    function update(
        Reputation.State memory state,
        uint256 score,
        uint256 eventValue,
        uint256 nowSeconds,
        uint256 halfLifeSeconds,
        uint256 memoryWeight
    ) external pure returns (Reputation.State memory) {
        return Reputation.update(state, score, eventValue, nowSeconds, halfLifeSeconds, memoryWeight);
    }
}
