// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title IModelRegistry
/// @notice Registry of GGUF models. A model's id is the sha256 of its GGUF file, so it is immutable
/// and unique. Each model has an owner (its registrant), a URI, metadata and an optional royalty per
/// generated token bounded by governance.
interface IModelRegistry {
    /// @notice Descriptive metadata of a model, fixed at registration.
    /// @param family Model family, e.g. "llama" (1..64 bytes).
    /// @param parameterCount Number of parameters (> 0).
    /// @param quantization The GGUF `general.file_type` value (llama.cpp `llama_ftype`: 0 F32, 1 F16,
    /// 2 Q4_0, 7 Q8_0, 15 Q4_K_M, ...). A sha256 names one file, so one model has one quantization;
    /// node capabilities must quote the same number.
    /// @param contextLength Trained context length in tokens (> 0).
    /// @param minMemoryMb Memory needed to serve the model, in MiB.
    /// @param defaultProfileHash Hash of the default determinism profile (spec/encodings.md).
    struct ModelMetadata {
        string family;
        uint64 parameterCount;
        uint8 quantization;
        uint32 contextLength;
        uint32 minMemoryMb;
        bytes32 defaultProfileHash;
    }

    /// @notice A registered model.
    /// @param owner Current owner, who receives royalties.
    /// @param pendingOwner Owner proposed by `transferModelOwnership`, or zero.
    /// @param registeredAt Registration timestamp (non-zero for every registered model).
    /// @param deprecated True once the owner deprecated it (irreversible).
    /// @param royaltyPerToken Royalty per generated token in token wei, as registered.
    /// @param uri Where the GGUF file can be fetched.
    /// @param metadata Descriptive metadata.
    struct Model {
        address owner;
        uint64 registeredAt;
        bool deprecated;
        address pendingOwner;
        uint128 royaltyPerToken;
        string uri;
        ModelMetadata metadata;
    }

    /// @notice A model was registered.
    event ModelRegistered(
        bytes32 indexed modelId,
        address indexed owner,
        string uri,
        ModelMetadata metadata,
        uint256 royaltyPerToken
    );
    /// @notice The owner changed the model's URI.
    event ModelUriUpdated(bytes32 indexed modelId, string uri);
    /// @notice The owner deprecated the model; it is no longer active.
    event ModelDeprecated(bytes32 indexed modelId);
    /// @notice The owner proposed a new owner (zero cancels a proposal).
    event ModelOwnershipTransferStarted(bytes32 indexed modelId, address indexed owner, address indexed pendingOwner);
    /// @notice The proposed owner accepted.
    event ModelOwnershipTransferred(bytes32 indexed modelId, address indexed previousOwner, address indexed newOwner);

    /// @notice The model id is zero.
    error ModelRegistryZeroModelId();
    /// @notice A model with this id exists already.
    error ModelRegistryAlreadyRegistered(bytes32 modelId);
    /// @notice No model with this id.
    error ModelRegistryUnknownModel(bytes32 modelId);
    /// @notice The caller is not the model's owner.
    error ModelRegistryNotOwner(bytes32 modelId, address caller, address owner);
    /// @notice The caller is not the model's pending owner.
    error ModelRegistryNotPendingOwner(bytes32 modelId, address caller, address pendingOwner);
    /// @notice The model is deprecated.
    error ModelRegistryModelDeprecated(bytes32 modelId);
    /// @notice The URI is empty or longer than `max` bytes.
    error ModelRegistryInvalidUri(uint256 length, uint256 max);
    /// @notice The family is empty or longer than `max` bytes.
    error ModelRegistryInvalidFamily(uint256 length, uint256 max);
    /// @notice parameterCount or contextLength is zero.
    error ModelRegistryInvalidMetadata(uint256 parameterCount, uint256 contextLength);
    /// @notice The royalty exceeds the governance maximum.
    error ModelRegistryRoyaltyTooHigh(uint256 royaltyPerToken, uint256 max);

    /// @notice Registers a model owned by the caller.
    /// @param modelId sha256 of the GGUF file.
    /// @param uri Where to fetch it (1..512 bytes).
    /// @param metadata Descriptive metadata.
    /// @param royaltyPerToken Royalty per generated token (<= maxRoyaltyPerToken), fixed for life.
    function registerModel(
        bytes32 modelId,
        string calldata uri,
        ModelMetadata calldata metadata,
        uint256 royaltyPerToken
    ) external;

    /// @notice Changes the URI. Only the owner, not for deprecated models.
    function setModelUri(bytes32 modelId, string calldata uri) external;

    /// @notice Deprecates the model, irreversibly. Only the owner.
    function deprecateModel(bytes32 modelId) external;

    /// @notice Proposes a new owner (step one of two). Zero cancels. Only the owner.
    function transferModelOwnership(bytes32 modelId, address newOwner) external;

    /// @notice Accepts ownership (step two). Only the pending owner.
    function acceptModelOwnership(bytes32 modelId) external;

    /// @notice Sets the royalty bound. Only PARAMS_ROLE; within [0, MAX_ROYALTY_PER_TOKEN_BOUND].
    function setMaxRoyaltyPerToken(uint256 value) external;

    /// @notice The model record. Reverts for unknown ids.
    function getModel(bytes32 modelId) external view returns (Model memory);

    /// @notice True if registered and not deprecated.
    function isActive(bytes32 modelId) external view returns (bool);

    /// @notice The model's quantization (GGUF file type). Reverts for unknown ids.
    function quantizationOf(bytes32 modelId) external view returns (uint8);

    /// @notice Royalty recipient and amount per token. The amount is clamped to the current
    /// `maxRoyaltyPerToken`, so lowering the bound applies to existing models too.
    function royaltyOf(bytes32 modelId) external view returns (address owner, uint256 royaltyPerToken);

    /// @notice Current governance bound on royalties per token.
    function maxRoyaltyPerToken() external view returns (uint256);
}
