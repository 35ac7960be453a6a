// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

// solhint-disable-next-line max-line-length
import {AccessControlDefaultAdminRules} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IProtocolAccess} from "../interfaces/IProtocolAccess.sol";

/// @title ProtocolAccess
/// @notice Base of the core contracts: roles, two-step admin transfer with a delay, pause, and the
/// range-checked parameter setter every governance change goes through.
abstract contract ProtocolAccess is IProtocolAccess, AccessControlDefaultAdminRules, Pausable {
    /// @inheritdoc IProtocolAccess
    bytes32 public constant PARAMS_ROLE = keccak256("PARAMS_ROLE");
    /// @inheritdoc IProtocolAccess
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @notice Delay before a proposed default admin can accept the role.
    uint48 public constant ADMIN_TRANSFER_DELAY_SECONDS = 2 days;

    /// @param admin Initial default admin; also receives PARAMS_ROLE and PAUSER_ROLE so a fresh
    /// deployment can be configured by one key and the roles handed out afterwards.
    constructor(address admin) AccessControlDefaultAdminRules(ADMIN_TRANSFER_DELAY_SECONDS, admin) {
        _grantRole(PARAMS_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    /// @inheritdoc IProtocolAccess
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IProtocolAccess
    function unpause() external onlyRole(DEFAULT_ADMIN_ROLE) {
        _unpause();
    }

    /// @dev Range-checks `newValue`, emits ParameterChanged and returns it for the caller to store.
    function _checkParameter(
        bytes32 name,
        uint256 oldValue,
        uint256 newValue,
        uint256 min,
        uint256 max
    ) internal returns (uint256) {
        // INVARIANT: every governance parameter stays inside its hard-coded bounds.
        if (newValue < min || newValue > max) revert GovernanceParameterOutOfRange(name, newValue, min, max);
        emit ParameterChanged(name, oldValue, newValue);
        return newValue;
    }
}
