// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title IProtocolAccess
/// @notice Shared governance surface of the LLMarket core contracts: bounded parameters set by
/// PARAMS_ROLE, an emergency pause, and two-step default-admin transfer (OpenZeppelin
/// AccessControlDefaultAdminRules).
/// @dev Pause policy: PAUSER_ROLE pauses, only the default admin unpauses (a hot monitoring key can
/// stop the protocol but never resume it). Pausing blocks entry points that bring money in or open
/// new obligations; every exit (withdrawing credits and unbonded stake, requesting an unstake,
/// unlocking, deregistering) stays open while paused.
interface IProtocolAccess {
    /// @notice A governance parameter changed (also emitted once per parameter at construction).
    /// @param name Short ASCII name of the parameter, right-padded (e.g. "minNodeStake").
    /// @param oldValue Value before the change (0 at construction).
    /// @param newValue Value after the change.
    event ParameterChanged(bytes32 indexed name, uint256 oldValue, uint256 newValue);

    /// @notice A parameter value is outside its hard-coded bounds.
    /// @param name The parameter's name.
    /// @param value The rejected value.
    /// @param min Smallest accepted value.
    /// @param max Largest accepted value.
    error GovernanceParameterOutOfRange(bytes32 name, uint256 value, uint256 min, uint256 max);

    /// @notice Role allowed to change bounded parameters.
    function PARAMS_ROLE() external view returns (bytes32);

    /// @notice Role allowed to pause.
    function PAUSER_ROLE() external view returns (bytes32);

    /// @notice Pauses the pausable entry points. Only PAUSER_ROLE.
    function pause() external;

    /// @notice Lifts the pause. Only the default admin.
    function unpause() external;
}
