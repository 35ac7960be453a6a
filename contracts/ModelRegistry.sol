// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {ProtocolAccess} from "./governance/ProtocolAccess.sol";

/// @title ModelRegistry
/// @notice Models keyed by the sha256 of their GGUF file. See {IModelRegistry}.
contract ModelRegistry is IModelRegistry, ProtocolAccess {
    /// @notice Longest accepted URI, in bytes.
    uint256 public constant MAX_URI_BYTES = 512;
    /// @notice Longest accepted family name, in bytes.
    uint256 public constant MAX_FAMILY_BYTES = 64;
    /// @notice Hard upper bound of `maxRoyaltyPerToken`, in token wei per token (1e21 = 1000 tokens
    /// of an 18-decimal token per generated token, far above any sane price).
    uint256 public constant MAX_ROYALTY_PER_TOKEN_BOUND = 1e21;

    /// @inheritdoc IModelRegistry
    uint256 public maxRoyaltyPerToken;

    mapping(bytes32 modelId => Model model) private _models;

    /// @param admin Default admin (also PARAMS_ROLE and PAUSER_ROLE at first).
    /// @param maxRoyaltyPerToken_ Initial royalty bound.
    constructor(address admin, uint256 maxRoyaltyPerToken_) ProtocolAccess(admin) {
        maxRoyaltyPerToken = _checkParameter(
            "maxRoyaltyPerToken",
            0,
            maxRoyaltyPerToken_,
            0,
            MAX_ROYALTY_PER_TOKEN_BOUND
        );
    }

    /// @inheritdoc IModelRegistry
    function registerModel(
        bytes32 modelId,
        string calldata uri,
        ModelMetadata calldata metadata,
        uint256 royaltyPerToken
    ) external whenNotPaused {
        // INVARIANT: the id is a sha256, never zero, and registered at most once.
        if (modelId == bytes32(0)) revert ModelRegistryZeroModelId();
        Model storage model = _models[modelId];
        if (model.registeredAt != 0) revert ModelRegistryAlreadyRegistered(modelId);
        _checkUri(uri);
        uint256 familyLength = bytes(metadata.family).length;
        if (familyLength == 0 || familyLength > MAX_FAMILY_BYTES) {
            revert ModelRegistryInvalidFamily(familyLength, MAX_FAMILY_BYTES);
        }
        if (metadata.parameterCount == 0 || metadata.contextLength == 0) {
            revert ModelRegistryInvalidMetadata(metadata.parameterCount, metadata.contextLength);
        }
        // INVARIANT: a royalty never exceeds the governance bound at registration.
        if (royaltyPerToken > maxRoyaltyPerToken)
            revert ModelRegistryRoyaltyTooHigh(royaltyPerToken, maxRoyaltyPerToken);

        model.owner = msg.sender;
        model.registeredAt = SafeCast.toUint64(block.timestamp);
        model.royaltyPerToken = SafeCast.toUint128(royaltyPerToken);
        model.uri = uri;
        model.metadata = metadata;
        emit ModelRegistered(modelId, msg.sender, uri, metadata, royaltyPerToken);
    }

    /// @inheritdoc IModelRegistry
    function setModelUri(bytes32 modelId, string calldata uri) external {
        Model storage model = _ownedModel(modelId);
        // INVARIANT: a deprecated model is frozen.
        if (model.deprecated) revert ModelRegistryModelDeprecated(modelId);
        _checkUri(uri);
        model.uri = uri;
        emit ModelUriUpdated(modelId, uri);
    }

    /// @inheritdoc IModelRegistry
    function deprecateModel(bytes32 modelId) external {
        Model storage model = _ownedModel(modelId);
        // INVARIANT: deprecation happens once and is never undone.
        if (model.deprecated) revert ModelRegistryModelDeprecated(modelId);
        model.deprecated = true;
        emit ModelDeprecated(modelId);
    }

    /// @inheritdoc IModelRegistry
    function transferModelOwnership(bytes32 modelId, address newOwner) external {
        Model storage model = _ownedModel(modelId);
        model.pendingOwner = newOwner;
        emit ModelOwnershipTransferStarted(modelId, msg.sender, newOwner);
    }

    /// @inheritdoc IModelRegistry
    function acceptModelOwnership(bytes32 modelId) external {
        Model storage model = _existingModel(modelId);
        address pending = model.pendingOwner;
        // INVARIANT: ownership moves only to the address the owner proposed, on its own call.
        if (msg.sender != pending || pending == address(0)) {
            revert ModelRegistryNotPendingOwner(modelId, msg.sender, pending);
        }
        address previous = model.owner;
        model.owner = pending;
        model.pendingOwner = address(0);
        emit ModelOwnershipTransferred(modelId, previous, pending);
    }

    /// @inheritdoc IModelRegistry
    function setMaxRoyaltyPerToken(uint256 value) external onlyRole(PARAMS_ROLE) {
        maxRoyaltyPerToken = _checkParameter(
            "maxRoyaltyPerToken",
            maxRoyaltyPerToken,
            value,
            0,
            MAX_ROYALTY_PER_TOKEN_BOUND
        );
    }

    /// @inheritdoc IModelRegistry
    function getModel(bytes32 modelId) external view returns (Model memory) {
        return _existingModel(modelId);
    }

    /// @inheritdoc IModelRegistry
    function isActive(bytes32 modelId) external view returns (bool) {
        Model storage model = _models[modelId];
        return model.registeredAt != 0 && !model.deprecated;
    }

    /// @inheritdoc IModelRegistry
    function quantizationOf(bytes32 modelId) external view returns (uint8) {
        return _existingModel(modelId).metadata.quantization;
    }

    /// @inheritdoc IModelRegistry
    function royaltyOf(bytes32 modelId) external view returns (address owner, uint256 royaltyPerToken) {
        Model storage model = _existingModel(modelId);
        uint256 cap = maxRoyaltyPerToken;
        royaltyPerToken = model.royaltyPerToken;
        if (royaltyPerToken > cap) royaltyPerToken = cap;
        owner = model.owner;
    }

    function _existingModel(bytes32 modelId) private view returns (Model storage model) {
        model = _models[modelId];
        if (model.registeredAt == 0) revert ModelRegistryUnknownModel(modelId);
    }

    function _ownedModel(bytes32 modelId) private view returns (Model storage model) {
        model = _existingModel(modelId);
        // INVARIANT: only the current owner manages a model.
        if (model.owner != msg.sender) revert ModelRegistryNotOwner(modelId, msg.sender, model.owner);
    }

    function _checkUri(string calldata uri) private pure {
        uint256 length = bytes(uri).length;
        if (length == 0 || length > MAX_URI_BYTES) revert ModelRegistryInvalidUri(length, MAX_URI_BYTES);
    }
}
