// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {INodeRegistry} from "./interfaces/INodeRegistry.sol";
import {IModelRegistry} from "./interfaces/IModelRegistry.sol";
import {IStaking} from "./interfaces/IStaking.sol";
import {ProtocolAccess} from "./governance/ProtocolAccess.sol";
import {Reputation} from "./libraries/Reputation.sol";

/// @title NodeRegistry
/// @notice Node endpoints, signers, capabilities, reputation and the reputation-tiered stake
/// requirement. See {INodeRegistry}.
contract NodeRegistry is INodeRegistry, ProtocolAccess {
    /// @notice Role of contracts that report outcomes (settlement, market).
    bytes32 public constant REPUTATION_ROLE = keccak256("REPUTATION_ROLE");
    /// @notice Longest accepted endpoint, in bytes.
    uint256 public constant MAX_ENDPOINT_BYTES = 256;
    /// @notice Most capabilities per node.
    uint256 public constant MAX_CAPABILITIES_PER_NODE = 16;
    /// @notice Number of stake tiers.
    uint256 public constant STAKE_TIER_COUNT = 2;
    /// @notice Basis-point denominator of stake factors.
    uint256 public constant BPS_DENOMINATOR = 10_000;
    /// @notice Lowest stake factor any tier may set: the discount is at most 50%.
    uint256 public constant MIN_STAKE_FACTOR_BPS = 5_000;
    /// @notice Bounds of `minNodeStake`, in token wei.
    uint256 public constant MIN_NODE_STAKE_LOWER_BOUND = 1;
    uint256 public constant MIN_NODE_STAKE_UPPER_BOUND = 1e30;
    /// @notice Bounds of the reputation half-life.
    uint256 public constant MIN_HALF_LIFE_SECONDS = 1 hours;
    uint256 public constant MAX_HALF_LIFE_SECONDS = 3650 days;
    /// @notice Bounds of the memory weight W, in token wei (W <= 2^128 keeps the EMA in range).
    uint256 public constant MIN_MEMORY_WEIGHT = 1;
    uint256 public constant MAX_MEMORY_WEIGHT = 1e36;

    /// @notice Registry checked for capability models.
    IModelRegistry public immutable modelRegistry;
    /// @notice Stake ledger read for the stake requirement and open obligations.
    IStaking public immutable staking;

    /// @inheritdoc INodeRegistry
    uint256 public minNodeStake;
    /// @inheritdoc INodeRegistry
    uint256 public reputationHalfLife;
    /// @inheritdoc INodeRegistry
    uint256 public reputationMemoryWeight;

    StakeTier[STAKE_TIER_COUNT] private _tiers;
    mapping(address node => Node record) private _nodes;
    mapping(address node => Capability[] list) private _capabilities;
    mapping(address node => mapping(bytes32 modelId => uint256 indexPlusOne)) private _capabilityIndex;
    mapping(address node => Reputation.State state) private _reputations;

    /// @param admin Default admin (also PARAMS_ROLE and PAUSER_ROLE at first).
    /// @param modelRegistry_ The model registry.
    /// @param staking_ The stake ledger.
    /// @param minNodeStake_ Base minimum node stake.
    /// @param halfLifeSeconds Reputation half-life.
    /// @param memoryWeight Reputation memory weight W.
    constructor(
        address admin,
        IModelRegistry modelRegistry_,
        IStaking staking_,
        uint256 minNodeStake_,
        uint256 halfLifeSeconds,
        uint256 memoryWeight
    ) ProtocolAccess(admin) {
        modelRegistry = modelRegistry_;
        staking = staking_;
        minNodeStake = _checkParameter(
            "minNodeStake",
            0,
            minNodeStake_,
            MIN_NODE_STAKE_LOWER_BOUND,
            MIN_NODE_STAKE_UPPER_BOUND
        );
        reputationHalfLife = _checkParameter(
            "reputationHalfLife",
            0,
            halfLifeSeconds,
            MIN_HALF_LIFE_SECONDS,
            MAX_HALF_LIFE_SECONDS
        );
        reputationMemoryWeight = _checkParameter(
            "reputationMemoryWeight",
            0,
            memoryWeight,
            MIN_MEMORY_WEIGHT,
            MAX_MEMORY_WEIGHT
        );
        // Defaults: reputation 0.7 saves 15% of the stake, 0.9 saves 30%.
        _setStakeTier(0, 0.7e18, 8_500);
        _setStakeTier(1, 0.9e18, 7_000);
    }

    // ---------------------------------------------------------------- node lifecycle

    /// @inheritdoc INodeRegistry
    function register(
        string calldata endpoint,
        address signer,
        Capability[] calldata capabilities
    ) external whenNotPaused {
        Node storage node = _nodes[msg.sender];
        if (node.registeredAt != 0) revert NodeRegistryAlreadyRegistered(msg.sender);
        _checkEndpoint(endpoint);
        if (signer == address(0)) revert NodeRegistryZeroSigner();
        uint256 count = capabilities.length;
        // INVARIANT: capability lists stay bounded.
        if (count > MAX_CAPABILITIES_PER_NODE) revert NodeRegistryTooManyCapabilities(count, MAX_CAPABILITIES_PER_NODE);
        uint256 have = staking.activeStakeOf(msg.sender);
        uint256 need = requiredStake(msg.sender);
        // INVARIANT: a node registers only with its reputation-tiered minimum stake.
        if (have < need) revert NodeRegistryStakeTooLow(msg.sender, have, need);

        node.signer = signer;
        node.registeredAt = uint64(block.timestamp);
        node.endpoint = endpoint;
        emit NodeRegistered(msg.sender, signer, endpoint);
        Capability[] storage list = _capabilities[msg.sender];
        for (uint256 i; i < count; ++i) {
            Capability calldata capability = capabilities[i];
            _checkCapability(capability);
            if (_capabilityIndex[msg.sender][capability.modelId] != 0) {
                revert NodeRegistryDuplicateCapability(capability.modelId);
            }
            list.push(capability);
            _capabilityIndex[msg.sender][capability.modelId] = i + 1;
            emit CapabilitySet(msg.sender, capability.modelId, capability);
        }
    }

    /// @inheritdoc INodeRegistry
    function updateEndpoint(string calldata endpoint) external whenNotPaused {
        Node storage node = _registered(msg.sender);
        _checkEndpoint(endpoint);
        node.endpoint = endpoint;
        emit EndpointUpdated(msg.sender, endpoint);
    }

    /// @inheritdoc INodeRegistry
    function updateSigner(address signer) external whenNotPaused {
        Node storage node = _registered(msg.sender);
        if (signer == address(0)) revert NodeRegistryZeroSigner();
        address oldSigner = node.signer;
        node.signer = signer;
        emit SignerUpdated(msg.sender, oldSigner, signer);
    }

    /// @inheritdoc INodeRegistry
    function setCapability(Capability calldata capability) external whenNotPaused {
        _registered(msg.sender);
        _checkCapability(capability);
        Capability[] storage list = _capabilities[msg.sender];
        uint256 indexPlusOne = _capabilityIndex[msg.sender][capability.modelId];
        if (indexPlusOne != 0) {
            list[indexPlusOne - 1] = capability;
        } else {
            // INVARIANT: capability lists stay bounded.
            if (list.length >= MAX_CAPABILITIES_PER_NODE) {
                revert NodeRegistryTooManyCapabilities(list.length + 1, MAX_CAPABILITIES_PER_NODE);
            }
            list.push(capability);
            _capabilityIndex[msg.sender][capability.modelId] = list.length;
        }
        emit CapabilitySet(msg.sender, capability.modelId, capability);
    }

    /// @inheritdoc INodeRegistry
    function removeCapability(bytes32 modelId) external {
        _registered(msg.sender);
        uint256 indexPlusOne = _capabilityIndex[msg.sender][modelId];
        if (indexPlusOne == 0) revert NodeRegistryCapabilityNotFound(msg.sender, modelId);
        Capability[] storage list = _capabilities[msg.sender];
        uint256 last = list.length - 1;
        if (indexPlusOne - 1 != last) {
            Capability memory moved = list[last];
            list[indexPlusOne - 1] = moved;
            _capabilityIndex[msg.sender][moved.modelId] = indexPlusOne;
        }
        list.pop();
        delete _capabilityIndex[msg.sender][modelId];
        emit CapabilityRemoved(msg.sender, modelId);
    }

    /// @inheritdoc INodeRegistry
    function deregister() external {
        _registered(msg.sender);
        uint256 locked = staking.lockedOf(msg.sender);
        // INVARIANT: a node with open obligations (locked stake) cannot leave.
        if (locked != 0) revert NodeRegistryOpenObligations(msg.sender, locked);
        Capability[] storage list = _capabilities[msg.sender];
        for (uint256 i = list.length; i != 0; --i) {
            delete _capabilityIndex[msg.sender][list[i - 1].modelId];
            list.pop();
        }
        delete _nodes[msg.sender];
        emit NodeDeregistered(msg.sender);
    }

    // ---------------------------------------------------------------- reputation

    /// @inheritdoc INodeRegistry
    function recordOutcome(address node, uint256 score1e18, uint256 value) external onlyRole(REPUTATION_ROLE) {
        Reputation.State memory next = Reputation.update(
            _reputations[node],
            score1e18,
            value,
            block.timestamp,
            reputationHalfLife,
            reputationMemoryWeight
        );
        _reputations[node] = next;
        emit ReputationUpdated(node, next.value, score1e18, value);
    }

    // ---------------------------------------------------------------- parameters

    /// @inheritdoc INodeRegistry
    function setMinNodeStake(uint256 value) external onlyRole(PARAMS_ROLE) {
        minNodeStake = _checkParameter(
            "minNodeStake",
            minNodeStake,
            value,
            MIN_NODE_STAKE_LOWER_BOUND,
            MIN_NODE_STAKE_UPPER_BOUND
        );
    }

    /// @inheritdoc INodeRegistry
    function setReputationHalfLife(uint256 value) external onlyRole(PARAMS_ROLE) {
        reputationHalfLife = _checkParameter(
            "reputationHalfLife",
            reputationHalfLife,
            value,
            MIN_HALF_LIFE_SECONDS,
            MAX_HALF_LIFE_SECONDS
        );
    }

    /// @inheritdoc INodeRegistry
    function setReputationMemoryWeight(uint256 value) external onlyRole(PARAMS_ROLE) {
        reputationMemoryWeight = _checkParameter(
            "reputationMemoryWeight",
            reputationMemoryWeight,
            value,
            MIN_MEMORY_WEIGHT,
            MAX_MEMORY_WEIGHT
        );
    }

    /// @inheritdoc INodeRegistry
    function setStakeTier(uint256 index, uint256 minReputation, uint256 factorBps) external onlyRole(PARAMS_ROLE) {
        _setStakeTier(index, minReputation, factorBps);
    }

    // ---------------------------------------------------------------- views

    /// @inheritdoc INodeRegistry
    function isRegistered(address node) external view returns (bool) {
        return _nodes[node].registeredAt != 0;
    }

    /// @inheritdoc INodeRegistry
    function getNode(address node) external view returns (Node memory) {
        return _nodes[node];
    }

    /// @inheritdoc INodeRegistry
    function capabilitiesOf(address node) external view returns (Capability[] memory) {
        return _capabilities[node];
    }

    /// @inheritdoc INodeRegistry
    function capabilityOf(address node, bytes32 modelId) external view returns (Capability memory, bool found) {
        uint256 indexPlusOne = _capabilityIndex[node][modelId];
        if (indexPlusOne == 0) return (Capability(bytes32(0), 0, 0, 0, 0, 0), false);
        return (_capabilities[node][indexPlusOne - 1], true);
    }

    /// @inheritdoc INodeRegistry
    function hasCapability(address node, bytes32 modelId) external view returns (bool) {
        return _capabilityIndex[node][modelId] != 0;
    }

    /// @inheritdoc INodeRegistry
    function reputationOf(address node) public view returns (uint256) {
        return Reputation.valueAt(_reputations[node], block.timestamp, reputationHalfLife);
    }

    /// @inheritdoc INodeRegistry
    function stakeFactorBps(uint256 reputation) public view returns (uint256 factorBps) {
        factorBps = BPS_DENOMINATOR;
        for (uint256 i; i < STAKE_TIER_COUNT; ++i) {
            StakeTier memory tier = _tiers[i];
            if (reputation >= tier.minReputation && tier.factorBps < factorBps) factorBps = tier.factorBps;
        }
    }

    /// @inheritdoc INodeRegistry
    function requiredStake(address node) public view returns (uint256) {
        return (minNodeStake * stakeFactorBps(reputationOf(node))) / BPS_DENOMINATOR;
    }

    /// @inheritdoc INodeRegistry
    function hasOpenObligations(address node) external view returns (bool) {
        return staking.lockedOf(node) != 0;
    }

    /// @inheritdoc INodeRegistry
    function stakeTier(uint256 index) external view returns (StakeTier memory) {
        return _tiers[index];
    }

    // ---------------------------------------------------------------- internals

    function _setStakeTier(uint256 index, uint256 minReputation, uint256 factorBps) private {
        if (index >= STAKE_TIER_COUNT) {
            revert GovernanceParameterOutOfRange("stakeTierIndex", index, 0, STAKE_TIER_COUNT - 1);
        }
        StakeTier storage tier = _tiers[index];
        // Names "stakeTier<i>MinReputation" and "stakeTier<i>FactorBps", i a single digit.
        bytes1 digit = bytes1(uint8(48 + index));
        tier.minReputation = uint64(
            _checkParameter(
                bytes32(bytes.concat("stakeTier", digit, "MinReputation")),
                tier.minReputation,
                minReputation,
                Reputation.NEUTRAL,
                Reputation.ONE
            )
        );
        tier.factorBps = uint16(
            _checkParameter(
                bytes32(bytes.concat("stakeTier", digit, "FactorBps")),
                tier.factorBps,
                factorBps,
                MIN_STAKE_FACTOR_BPS,
                BPS_DENOMINATOR
            )
        );
    }

    function _registered(address account) private view returns (Node storage node) {
        node = _nodes[account];
        if (node.registeredAt == 0) revert NodeRegistryNotRegistered(account);
    }

    function _checkEndpoint(string calldata endpoint) private pure {
        uint256 length = bytes(endpoint).length;
        if (length == 0 || length > MAX_ENDPOINT_BYTES) revert NodeRegistryInvalidEndpoint(length, MAX_ENDPOINT_BYTES);
    }

    function _checkCapability(Capability calldata capability) private view {
        bytes32 modelId = capability.modelId;
        // INVARIANT: nodes only offer registered, active models, with the file's own quantization.
        if (!modelRegistry.isActive(modelId)) revert NodeRegistryModelNotActive(modelId);
        uint8 expected = modelRegistry.quantizationOf(modelId);
        if (capability.quantization != expected) {
            revert NodeRegistryQuantizationMismatch(modelId, capability.quantization, expected);
        }
        if (capability.maxBatch == 0 || capability.maxTokens == 0) {
            revert NodeRegistryInvalidCapability(modelId, capability.maxBatch, capability.maxTokens);
        }
    }
}
