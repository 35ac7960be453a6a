// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title INodeRegistry
/// @notice Inference nodes: endpoint, receipt signer, capabilities per model, and reputation.
/// @dev Registration needs active stake (free + locked in Staking) of at least
/// `requiredStake(node) = minNodeStake * stakeFactorBps(reputationOf(node)) / 10000`. The factor is
/// 10000 unless the reputation reaches a stake tier's threshold (>= neutral), which lowers it to at
/// most MIN_STAKE_FACTOR_BPS (a bounded discount, never zero). Reputation follows
/// {Reputation}: a value-weighted EMA decaying lazily toward neutral; identities without events
/// read 0.4e18 and do not decay. Reputation is keyed by address and survives deregistration.
interface INodeRegistry {
    /// @notice What a node offers for one model.
    /// @param modelId Registered, active model id (GGUF sha256).
    /// @param quantization The model's GGUF file type; must equal ModelRegistry.quantizationOf(modelId).
    /// @param maxBatch Parallel sequences served (> 0).
    /// @param maxTokens Largest maxTokens per job accepted (> 0).
    /// @param latencySlaMs Promised time to first token, in milliseconds.
    /// @param pricePerToken Asking price per generated token, in token wei.
    struct Capability {
        bytes32 modelId;
        uint8 quantization;
        uint32 maxBatch;
        uint32 maxTokens;
        uint32 latencySlaMs;
        uint128 pricePerToken;
    }

    /// @notice A registered node.
    /// @param signer Key that signs receipts.
    /// @param registeredAt Registration timestamp (0 = not registered).
    /// @param endpoint HTTP(S) base URL of the node agent.
    struct Node {
        address signer;
        uint64 registeredAt;
        string endpoint;
    }

    /// @notice A stake tier: reputations >= minReputation need factorBps of minNodeStake.
    struct StakeTier {
        uint64 minReputation;
        uint16 factorBps;
    }

    /// @notice `node` registered (its capabilities follow as CapabilitySet events).
    event NodeRegistered(address indexed node, address indexed signer, string endpoint);
    /// @notice `node` changed its endpoint.
    event EndpointUpdated(address indexed node, string endpoint);
    /// @notice `node` changed its receipt signer.
    event SignerUpdated(address indexed node, address indexed oldSigner, address indexed newSigner);
    /// @notice `node` added or replaced its capability for `modelId`.
    event CapabilitySet(address indexed node, bytes32 indexed modelId, Capability capability);
    /// @notice `node` removed its capability for `modelId`.
    event CapabilityRemoved(address indexed node, bytes32 indexed modelId);
    /// @notice `node` deregistered; its capabilities are gone.
    event NodeDeregistered(address indexed node);
    /// @notice An outcome moved `node`'s reputation to `newValue`.
    event ReputationUpdated(address indexed node, uint256 newValue, uint256 score, uint256 value);

    /// @notice The node is registered already.
    error NodeRegistryAlreadyRegistered(address node);
    /// @notice The node is not registered.
    error NodeRegistryNotRegistered(address node);
    /// @notice The endpoint is empty or longer than `max` bytes.
    error NodeRegistryInvalidEndpoint(uint256 length, uint256 max);
    /// @notice The signer is the zero address.
    error NodeRegistryZeroSigner();
    /// @notice The node would have more than `max` capabilities.
    error NodeRegistryTooManyCapabilities(uint256 count, uint256 max);
    /// @notice The model is unknown or deprecated.
    error NodeRegistryModelNotActive(bytes32 modelId);
    /// @notice The capability quotes another quantization than the model file has.
    error NodeRegistryQuantizationMismatch(bytes32 modelId, uint8 quantization, uint8 expected);
    /// @notice maxBatch or maxTokens is zero.
    error NodeRegistryInvalidCapability(bytes32 modelId, uint256 maxBatch, uint256 maxTokens);
    /// @notice The same model appears twice in one registration.
    error NodeRegistryDuplicateCapability(bytes32 modelId);
    /// @notice The node has no capability for the model.
    error NodeRegistryCapabilityNotFound(address node, bytes32 modelId);
    /// @notice The node's active stake is below its required stake.
    error NodeRegistryStakeTooLow(address node, uint256 have, uint256 need);
    /// @notice The node still has locked stake (open obligations).
    error NodeRegistryOpenObligations(address node, uint256 locked);

    /// @notice Registers the caller. Pausable.
    /// @param endpoint HTTP(S) base URL (1..256 bytes).
    /// @param signer Receipt signing key (non-zero).
    /// @param capabilities At most MAX_CAPABILITIES_PER_NODE, distinct models.
    function register(string calldata endpoint, address signer, Capability[] calldata capabilities) external;

    /// @notice Changes the caller's endpoint. Pausable.
    function updateEndpoint(string calldata endpoint) external;

    /// @notice Changes the caller's receipt signer. Pausable.
    function updateSigner(address signer) external;

    /// @notice Adds or replaces the caller's capability for `capability.modelId`. Pausable.
    function setCapability(Capability calldata capability) external;

    /// @notice Removes the caller's capability for `modelId`. Open while paused.
    function removeCapability(bytes32 modelId) external;

    /// @notice Deregisters the caller; needs no locked stake. Open while paused.
    function deregister() external;

    /// @notice Records an outcome for `node`: score in [0, 1e18], value in token wei (its weight).
    /// Only REPUTATION_ROLE.
    function recordOutcome(address node, uint256 score1e18, uint256 value) external;

    /// @notice Sets minNodeStake. Only PARAMS_ROLE.
    function setMinNodeStake(uint256 value) external;

    /// @notice Sets the reputation half-life in seconds. Only PARAMS_ROLE.
    function setReputationHalfLife(uint256 value) external;

    /// @notice Sets the reputation memory weight W (token wei). Only PARAMS_ROLE.
    function setReputationMemoryWeight(uint256 value) external;

    /// @notice Sets stake tier `index` (< STAKE_TIER_COUNT). Only PARAMS_ROLE.
    /// @param minReputation Threshold in [NEUTRAL, 1e18].
    /// @param factorBps Factor in [MIN_STAKE_FACTOR_BPS, 10000]; 10000 disables the tier.
    function setStakeTier(uint256 index, uint256 minReputation, uint256 factorBps) external;

    /// @notice Whether `node` is registered.
    function isRegistered(address node) external view returns (bool);

    /// @notice The node record (registeredAt 0 if not registered).
    function getNode(address node) external view returns (Node memory);

    /// @notice The node's capabilities.
    function capabilitiesOf(address node) external view returns (Capability[] memory);

    /// @notice The node's capability for `modelId`; `found` is false if it has none.
    function capabilityOf(address node, bytes32 modelId) external view returns (Capability memory, bool found);

    /// @notice The node's reputation now (decayed), 1e18 fixed point.
    function reputationOf(address node) external view returns (uint256);

    /// @notice Whether `node` has a capability for `modelId` (one storage read: cheap for bids).
    function hasCapability(address node, bytes32 modelId) external view returns (bool);

    /// @notice Stake factor in bps for a reputation: the lowest factor among tiers it reaches.
    function stakeFactorBps(uint256 reputation) external view returns (uint256);

    /// @notice Active stake `node` needs to register: minNodeStake * stakeFactorBps(reputation) / 10000.
    function requiredStake(address node) external view returns (uint256);

    /// @notice Whether `node` has locked stake in Staking (open obligations).
    function hasOpenObligations(address node) external view returns (bool);

    /// @notice Base minimum stake of a node.
    function minNodeStake() external view returns (uint256);

    /// @notice Reputation half-life in seconds.
    function reputationHalfLife() external view returns (uint256);

    /// @notice Reputation memory weight W in token wei.
    function reputationMemoryWeight() external view returns (uint256);

    /// @notice Stake tier `index`.
    function stakeTier(uint256 index) external view returns (StakeTier memory);
}
