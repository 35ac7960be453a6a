// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "../utils/Test.sol";
import {TestToken} from "../../../contracts/token/TestToken.sol";
import {ModelRegistry} from "../../../contracts/ModelRegistry.sol";
import {Staking} from "../../../contracts/Staking.sol";
import {NodeRegistry} from "../../../contracts/NodeRegistry.sol";
import {IModelRegistry} from "../../../contracts/interfaces/IModelRegistry.sol";

/// @notice Deploys TestToken, ModelRegistry, Staking and NodeRegistry with roles handed out, and
/// registers two models.
abstract contract CoreFixture is Test {
    uint256 internal constant MAX_ROYALTY = 1e15;
    uint256 internal constant MIN_VALIDATOR_STAKE = 100e18;
    uint256 internal constant UNBONDING_SECONDS = 7 days;
    uint256 internal constant MIN_NODE_STAKE = 1_000e18;
    uint256 internal constant HALF_LIFE_SECONDS = 30 days;
    uint256 internal constant MEMORY_WEIGHT = 100e18;
    uint8 internal constant Q8_0 = 7;
    uint8 internal constant Q4_0 = 2;

    // Stand-ins for GGUF sha256 digests. keccak256, not sha256: a sha256 constant is a precompile
    // call at each use and would consume a pending vm.prank.
    bytes32 internal constant MODEL_A = keccak256("model-a.gguf");
    bytes32 internal constant MODEL_B = keccak256("model-b.gguf");
    bytes32 internal constant MODEL_UNKNOWN = keccak256("unknown.gguf");

    TestToken internal token;
    ModelRegistry internal models;
    Staking internal staking;
    NodeRegistry internal nodes;

    address internal admin;
    address internal locker;
    address internal slasher;
    address internal reporter;
    address internal modelOwner;
    address internal alice;
    address internal bob;
    address internal carol;

    function setUp() public virtual {
        vm.warp(1_700_000_000);
        admin = makeAddr("admin");
        locker = makeAddr("locker");
        slasher = makeAddr("slasher");
        reporter = makeAddr("reporter");
        modelOwner = makeAddr("modelOwner");
        alice = makeAddr("alice");
        bob = makeAddr("bob");
        carol = makeAddr("carol");

        vm.startPrank(admin);
        token = new TestToken(0);
        models = new ModelRegistry(admin, MAX_ROYALTY);
        staking = new Staking(token, models, admin, MIN_VALIDATOR_STAKE, UNBONDING_SECONDS);
        nodes = new NodeRegistry(admin, models, staking, MIN_NODE_STAKE, HALF_LIFE_SECONDS, MEMORY_WEIGHT);
        staking.grantRole(staking.LOCKER_ROLE(), locker);
        staking.grantRole(staking.SLASHER_ROLE(), slasher);
        nodes.grantRole(nodes.REPUTATION_ROLE(), reporter);
        vm.stopPrank();

        vm.startPrank(modelOwner);
        models.registerModel(MODEL_A, "ipfs://model-a", _metadata(Q8_0), 1e12);
        models.registerModel(MODEL_B, "ipfs://model-b", _metadata(Q4_0), 0);
        vm.stopPrank();
    }

    function _metadata(uint8 quantization) internal pure returns (IModelRegistry.ModelMetadata memory) {
        return
            IModelRegistry.ModelMetadata({
                family: "llama",
                parameterCount: 134_000_000,
                quantization: quantization,
                contextLength: 4096,
                minMemoryMb: 512,
                defaultProfileHash: keccak256("profile")
            });
    }

    function _fund(address account, uint256 amount) internal {
        while (amount > 0) {
            uint256 drip = amount > token.MAX_FAUCET_AMOUNT() ? token.MAX_FAUCET_AMOUNT() : amount;
            token.faucet(account, drip);
            amount -= drip;
        }
        vm.prank(account);
        token.approve(address(staking), type(uint256).max);
    }

    function _stake(address account, uint256 amount) internal {
        _fund(account, amount);
        vm.prank(account);
        staking.stake(amount);
    }

    function _lock(address account, uint256 amount) internal {
        vm.prank(locker);
        staking.lock(account, amount);
    }

    function _noShares() internal pure returns (address[] memory beneficiaries, uint256[] memory bps) {
        beneficiaries = new address[](0);
        bps = new uint256[](0);
    }

    function _oneShare(
        address beneficiary,
        uint256 share
    ) internal pure returns (address[] memory beneficiaries, uint256[] memory bps) {
        beneficiaries = new address[](1);
        bps = new uint256[](1);
        beneficiaries[0] = beneficiary;
        bps[0] = share;
    }

    function _models(bytes32 a) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](1);
        ids[0] = a;
    }

    function _models(bytes32 a, bytes32 b) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](2);
        ids[0] = a;
        ids[1] = b;
    }

    function _active(address account) internal view returns (uint256) {
        return staking.activeStakeOf(account);
    }
}
