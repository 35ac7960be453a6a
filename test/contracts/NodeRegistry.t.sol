// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {CoreFixture} from "./helpers/CoreFixture.sol";
import {INodeRegistry} from "../../contracts/interfaces/INodeRegistry.sol";
import {IProtocolAccess} from "../../contracts/interfaces/IProtocolAccess.sol";
import {Reputation} from "../../contracts/libraries/Reputation.sol";

contract NodeRegistryTest is CoreFixture {
    address internal signer;

    function setUp() public override {
        super.setUp();
        signer = makeAddr("signer");
    }

    function _cap(bytes32 modelId, uint8 quantization) internal pure returns (INodeRegistry.Capability memory) {
        return
            INodeRegistry.Capability({
                modelId: modelId,
                quantization: quantization,
                maxBatch: 4,
                maxTokens: 2048,
                latencySlaMs: 500,
                pricePerToken: 1e12
            });
    }

    function _caps() internal pure returns (INodeRegistry.Capability[] memory caps) {
        caps = new INodeRegistry.Capability[](2);
        caps[0] = _cap(MODEL_A, Q8_0);
        caps[1] = _cap(MODEL_B, Q4_0);
    }

    function _registerAlice() internal {
        _stake(alice, MIN_NODE_STAKE);
        vm.prank(alice);
        nodes.register("https://alice.example", signer, _caps());
    }

    // ------------------------------------------------------------ register

    function test_register_valid_storesAndEmits() public {
        _stake(alice, MIN_NODE_STAKE);
        INodeRegistry.Capability[] memory caps = _caps();
        vm.expectEmit(address(nodes));
        emit INodeRegistry.NodeRegistered(alice, signer, "https://alice.example");
        vm.expectEmit(address(nodes));
        emit INodeRegistry.CapabilitySet(alice, MODEL_A, caps[0]);
        vm.expectEmit(address(nodes));
        emit INodeRegistry.CapabilitySet(alice, MODEL_B, caps[1]);
        vm.prank(alice);
        nodes.register("https://alice.example", signer, caps);
        assertTrue(nodes.isRegistered(alice), "registered");
        INodeRegistry.Node memory node = nodes.getNode(alice);
        assertEq(node.signer, signer, "signer");
        assertEq(node.endpoint, "https://alice.example", "endpoint");
        assertEq(node.registeredAt, block.timestamp, "registeredAt");
        assertEq(nodes.capabilitiesOf(alice).length, 2, "caps");
        (INodeRegistry.Capability memory cap, bool found) = nodes.capabilityOf(alice, MODEL_B);
        assertTrue(found, "found");
        assertEq(cap.quantization, Q4_0, "cap quantization");
    }

    function test_register_twice_reverts() public {
        _registerAlice();
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryAlreadyRegistered.selector, alice));
        vm.prank(alice);
        nodes.register("https://alice.example", signer, _caps());
    }

    function test_register_emptyEndpoint_reverts() public {
        _stake(alice, MIN_NODE_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryInvalidEndpoint.selector, 0, 256));
        vm.prank(alice);
        nodes.register("", signer, _caps());
    }

    function test_register_zeroSigner_reverts() public {
        _stake(alice, MIN_NODE_STAKE);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryZeroSigner.selector));
        vm.prank(alice);
        nodes.register("https://a", address(0), _caps());
    }

    function test_register_tooManyCapabilities_reverts() public {
        _stake(alice, MIN_NODE_STAKE);
        INodeRegistry.Capability[] memory caps = new INodeRegistry.Capability[](17);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryTooManyCapabilities.selector, 17, 16));
        vm.prank(alice);
        nodes.register("https://a", signer, caps);
    }

    function test_register_stakeTooLow_reverts() public {
        _stake(alice, MIN_NODE_STAKE - 1);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistryStakeTooLow.selector,
                alice,
                MIN_NODE_STAKE - 1,
                MIN_NODE_STAKE
            )
        );
        vm.prank(alice);
        nodes.register("https://a", signer, _caps());
    }

    function test_register_unbondingStake_doesNotCount() public {
        _stake(alice, MIN_NODE_STAKE);
        vm.prank(alice);
        staking.requestUnstake(1);
        vm.expectRevert(
            abi.encodeWithSelector(
                INodeRegistry.NodeRegistryStakeTooLow.selector,
                alice,
                MIN_NODE_STAKE - 1,
                MIN_NODE_STAKE
            )
        );
        vm.prank(alice);
        nodes.register("https://a", signer, _caps());
    }

    function test_register_goodReputation_needsLessStake() public {
        vm.startPrank(reporter);
        for (uint256 i; i < 20; ++i) nodes.recordOutcome(alice, 1e18, 100e18);
        vm.stopPrank();
        assertGe(nodes.reputationOf(alice), 0.9e18, "top tier");
        assertEq(nodes.requiredStake(alice), (MIN_NODE_STAKE * 7_000) / 10_000, "30% discount");
        _stake(alice, 700e18);
        vm.prank(alice);
        nodes.register("https://a", signer, _caps());
        assertTrue(nodes.isRegistered(alice), "registered with discount");
    }

    function test_register_inactiveModel_reverts() public {
        _stake(alice, MIN_NODE_STAKE);
        INodeRegistry.Capability[] memory caps = new INodeRegistry.Capability[](1);
        caps[0] = _cap(MODEL_UNKNOWN, Q8_0);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryModelNotActive.selector, MODEL_UNKNOWN));
        vm.prank(alice);
        nodes.register("https://a", signer, caps);
    }

    function test_register_quantizationMismatch_reverts() public {
        _stake(alice, MIN_NODE_STAKE);
        INodeRegistry.Capability[] memory caps = new INodeRegistry.Capability[](1);
        caps[0] = _cap(MODEL_A, Q4_0);
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistryQuantizationMismatch.selector, MODEL_A, Q4_0, Q8_0)
        );
        vm.prank(alice);
        nodes.register("https://a", signer, caps);
    }

    function test_register_zeroMaxTokens_reverts() public {
        _stake(alice, MIN_NODE_STAKE);
        INodeRegistry.Capability[] memory caps = new INodeRegistry.Capability[](1);
        caps[0] = _cap(MODEL_A, Q8_0);
        caps[0].maxTokens = 0;
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryInvalidCapability.selector, MODEL_A, 4, 0));
        vm.prank(alice);
        nodes.register("https://a", signer, caps);
    }

    function test_register_duplicateModel_reverts() public {
        _stake(alice, MIN_NODE_STAKE);
        INodeRegistry.Capability[] memory caps = new INodeRegistry.Capability[](2);
        caps[0] = _cap(MODEL_A, Q8_0);
        caps[1] = _cap(MODEL_A, Q8_0);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryDuplicateCapability.selector, MODEL_A));
        vm.prank(alice);
        nodes.register("https://a", signer, caps);
    }

    function test_register_paused_reverts() public {
        _stake(alice, MIN_NODE_STAKE);
        vm.prank(admin);
        nodes.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(alice);
        nodes.register("https://a", signer, _caps());
    }

    // ------------------------------------------------------------ updates

    function test_updateEndpoint_registered_updates() public {
        _registerAlice();
        vm.expectEmit(address(nodes));
        emit INodeRegistry.EndpointUpdated(alice, "https://new");
        vm.prank(alice);
        nodes.updateEndpoint("https://new");
        assertEq(nodes.getNode(alice).endpoint, "https://new", "endpoint");
    }

    function test_updateEndpoint_tooLong_reverts() public {
        _registerAlice();
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryInvalidEndpoint.selector, 257, 256));
        vm.prank(alice);
        nodes.updateEndpoint(string(new bytes(257)));
    }

    function test_updateEndpoint_notRegistered_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryNotRegistered.selector, bob));
        vm.prank(bob);
        nodes.updateEndpoint("https://new");
    }

    function test_updateSigner_registered_updates() public {
        _registerAlice();
        vm.expectEmit(address(nodes));
        emit INodeRegistry.SignerUpdated(alice, signer, bob);
        vm.prank(alice);
        nodes.updateSigner(bob);
        assertEq(nodes.getNode(alice).signer, bob, "signer");
    }

    function test_updateSigner_zero_reverts() public {
        _registerAlice();
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryZeroSigner.selector));
        vm.prank(alice);
        nodes.updateSigner(address(0));
    }

    function test_updateSigner_notRegistered_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryNotRegistered.selector, bob));
        vm.prank(bob);
        nodes.updateSigner(bob);
    }

    function test_setCapability_existing_replaces() public {
        _registerAlice();
        INodeRegistry.Capability memory cap = _cap(MODEL_A, Q8_0);
        cap.pricePerToken = 5e12;
        vm.expectEmit(address(nodes));
        emit INodeRegistry.CapabilitySet(alice, MODEL_A, cap);
        vm.prank(alice);
        nodes.setCapability(cap);
        (INodeRegistry.Capability memory stored, ) = nodes.capabilityOf(alice, MODEL_A);
        assertEq(stored.pricePerToken, 5e12, "price");
        assertEq(nodes.capabilitiesOf(alice).length, 2, "no growth");
    }

    function test_setCapability_new_appends() public {
        _stake(alice, MIN_NODE_STAKE);
        vm.prank(alice);
        nodes.register("https://a", signer, new INodeRegistry.Capability[](0));
        vm.prank(alice);
        nodes.setCapability(_cap(MODEL_B, Q4_0));
        assertEq(nodes.capabilitiesOf(alice).length, 1, "appended");
    }

    function test_setCapability_full_reverts() public {
        _stake(alice, MIN_NODE_STAKE);
        INodeRegistry.Capability[] memory caps = new INodeRegistry.Capability[](16);
        vm.startPrank(modelOwner);
        for (uint256 i; i < 16; ++i) {
            bytes32 id = keccak256(abi.encode("m", i));
            models.registerModel(id, "ipfs://m", _metadata(Q8_0), 0);
            caps[i] = _cap(id, Q8_0);
        }
        vm.stopPrank();
        vm.startPrank(alice);
        nodes.register("https://a", signer, caps);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryTooManyCapabilities.selector, 17, 16));
        nodes.setCapability(_cap(MODEL_A, Q8_0));
        vm.stopPrank();
    }

    function test_setCapability_deprecatedModel_reverts() public {
        _registerAlice();
        vm.prank(modelOwner);
        models.deprecateModel(MODEL_A);
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryModelNotActive.selector, MODEL_A));
        vm.prank(alice);
        nodes.setCapability(_cap(MODEL_A, Q8_0));
    }

    function test_setCapability_notRegistered_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryNotRegistered.selector, bob));
        vm.prank(bob);
        nodes.setCapability(_cap(MODEL_A, Q8_0));
    }

    function test_removeCapability_first_swapsLast() public {
        _registerAlice();
        vm.expectEmit(address(nodes));
        emit INodeRegistry.CapabilityRemoved(alice, MODEL_A);
        vm.prank(alice);
        nodes.removeCapability(MODEL_A);
        INodeRegistry.Capability[] memory caps = nodes.capabilitiesOf(alice);
        assertEq(caps.length, 1, "one left");
        assertEq(caps[0].modelId, MODEL_B, "B moved");
        (, bool found) = nodes.capabilityOf(alice, MODEL_A);
        assertFalse(found, "A gone");
        (, found) = nodes.capabilityOf(alice, MODEL_B);
        assertTrue(found, "B indexed");
        vm.prank(alice);
        nodes.removeCapability(MODEL_B);
        assertEq(nodes.capabilitiesOf(alice).length, 0, "none left");
    }

    function test_removeCapability_unknown_reverts() public {
        _registerAlice();
        vm.expectRevert(
            abi.encodeWithSelector(INodeRegistry.NodeRegistryCapabilityNotFound.selector, alice, MODEL_UNKNOWN)
        );
        vm.prank(alice);
        nodes.removeCapability(MODEL_UNKNOWN);
    }

    // ------------------------------------------------------------ deregister

    function test_deregister_noObligations_clears() public {
        _registerAlice();
        vm.expectEmit(address(nodes));
        emit INodeRegistry.NodeDeregistered(alice);
        vm.prank(alice);
        nodes.deregister();
        assertFalse(nodes.isRegistered(alice), "gone");
        assertEq(nodes.capabilitiesOf(alice).length, 0, "caps gone");
        (, bool found) = nodes.capabilityOf(alice, MODEL_A);
        assertFalse(found, "index gone");
        vm.prank(alice);
        nodes.register("https://again", signer, _caps());
        assertTrue(nodes.isRegistered(alice), "re-registered");
    }

    function test_deregister_openObligations_reverts() public {
        _registerAlice();
        _lock(alice, 1);
        assertTrue(nodes.hasOpenObligations(alice), "hook");
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryOpenObligations.selector, alice, 1));
        vm.prank(alice);
        nodes.deregister();
    }

    function test_deregister_paused_stillWorks() public {
        _registerAlice();
        vm.prank(admin);
        nodes.pause();
        vm.prank(alice);
        nodes.deregister();
        assertFalse(nodes.isRegistered(alice), "deregistered while paused");
    }

    function test_deregister_notRegistered_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(INodeRegistry.NodeRegistryNotRegistered.selector, bob));
        vm.prank(bob);
        nodes.deregister();
    }

    // ------------------------------------------------------------ reputation

    function test_reputationOf_newcomer_startsBelowNeutralAndStays() public {
        assertEq(nodes.reputationOf(alice), Reputation.START, "start");
        vm.warp(block.timestamp + 3650 days);
        assertEq(nodes.reputationOf(alice), Reputation.START, "no decay before first event");
    }

    function test_recordOutcome_valid_updatesAndEmits() public {
        // From START 0.4 with W = v: half-way to the score.
        vm.expectEmit(address(nodes));
        emit INodeRegistry.ReputationUpdated(alice, 0.7e18, 1e18, MEMORY_WEIGHT);
        vm.prank(reporter);
        nodes.recordOutcome(alice, 1e18, MEMORY_WEIGHT);
        assertEq(nodes.reputationOf(alice), 0.7e18, "value");
        vm.warp(block.timestamp + HALF_LIFE_SECONDS);
        assertApproxEqAbs(nodes.reputationOf(alice), 0.6e18, 2, "decays half-way to neutral");
    }

    function test_recordOutcome_notReporter_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                alice,
                nodes.REPUTATION_ROLE()
            )
        );
        vm.prank(alice);
        nodes.recordOutcome(alice, 1e18, 1);
    }

    function test_recordOutcome_scoreAboveOne_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Reputation.ReputationScoreOutOfRange.selector, 1e18 + 1, 1e18));
        vm.prank(reporter);
        nodes.recordOutcome(alice, 1e18 + 1, 1);
    }

    function testFuzz_recordOutcome_anyInputs_staysInUnitRange(uint256 score, uint256 value, uint256 wait) public {
        score = bound(score, 0, 1e18);
        wait = bound(wait, 0, 3650 days);
        vm.prank(reporter);
        nodes.recordOutcome(alice, score, value);
        vm.warp(block.timestamp + wait);
        assertLe(nodes.reputationOf(alice), 1e18, "<= 1");
    }

    // ------------------------------------------------------------ tiers and parameters

    function test_stakeFactorBps_tiers_lowestReached() public view {
        assertEq(nodes.stakeFactorBps(0), 10_000, "none");
        assertEq(nodes.stakeFactorBps(0.7e18 - 1), 10_000, "just below tier 0");
        assertEq(nodes.stakeFactorBps(0.7e18), 8_500, "tier 0");
        assertEq(nodes.stakeFactorBps(0.9e18), 7_000, "tier 1");
        assertEq(nodes.stakeFactorBps(1e18), 7_000, "top");
    }

    function testFuzz_requiredStake_neverBelowHalf(uint256 reputation) public view {
        reputation = bound(reputation, 0, 1e18);
        uint256 factor = nodes.stakeFactorBps(reputation);
        assertGe(factor, nodes.MIN_STAKE_FACTOR_BPS(), "bounded discount");
        assertLe(factor, 10_000, "no surcharge");
    }

    function test_setStakeTier_valid_emitsBoth() public {
        vm.expectEmit(address(nodes));
        emit IProtocolAccess.ParameterChanged("stakeTier1MinReputation", 0.9e18, 0.8e18);
        vm.expectEmit(address(nodes));
        emit IProtocolAccess.ParameterChanged("stakeTier1FactorBps", 7_000, 5_000);
        vm.prank(admin);
        nodes.setStakeTier(1, 0.8e18, 5_000);
        INodeRegistry.StakeTier memory tier = nodes.stakeTier(1);
        assertEq(tier.minReputation, 0.8e18, "threshold");
        assertEq(tier.factorBps, 5_000, "factor");
    }

    function test_setStakeTier_badIndex_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("stakeTierIndex"),
                2,
                0,
                1
            )
        );
        vm.prank(admin);
        nodes.setStakeTier(2, 0.8e18, 5_000);
    }

    function test_setStakeTier_thresholdBelowNeutral_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("stakeTier0MinReputation"),
                0.4e18,
                0.5e18,
                1e18
            )
        );
        vm.prank(admin);
        nodes.setStakeTier(0, 0.4e18, 9_000);
    }

    function test_setStakeTier_factorTooLow_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("stakeTier0FactorBps"),
                4_999,
                5_000,
                10_000
            )
        );
        vm.prank(admin);
        nodes.setStakeTier(0, 0.7e18, 4_999);
    }

    function test_setMinNodeStake_valid_changesRequirement() public {
        vm.expectEmit(address(nodes));
        emit IProtocolAccess.ParameterChanged("minNodeStake", MIN_NODE_STAKE, 10e18);
        vm.prank(admin);
        nodes.setMinNodeStake(10e18);
        assertEq(nodes.requiredStake(alice), 10e18, "required");
    }

    function test_setMinNodeStake_zero_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("minNodeStake"),
                0,
                1,
                1e30
            )
        );
        vm.prank(admin);
        nodes.setMinNodeStake(0);
    }

    function test_setReputationHalfLife_valid_sets() public {
        vm.prank(admin);
        nodes.setReputationHalfLife(1 days);
        assertEq(nodes.reputationHalfLife(), 1 days, "half-life");
    }

    function test_setReputationHalfLife_tooShort_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("reputationHalfLife"),
                1,
                1 hours,
                3650 days
            )
        );
        vm.prank(admin);
        nodes.setReputationHalfLife(1);
    }

    function test_setReputationMemoryWeight_valid_sets() public {
        vm.prank(admin);
        nodes.setReputationMemoryWeight(1e36);
        assertEq(nodes.reputationMemoryWeight(), 1e36, "weight");
    }

    function test_setReputationMemoryWeight_tooHigh_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("reputationMemoryWeight"),
                1e36 + 1,
                1,
                1e36
            )
        );
        vm.prank(admin);
        nodes.setReputationMemoryWeight(1e36 + 1);
    }

    function test_setMinNodeStake_notParams_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, nodes.PARAMS_ROLE())
        );
        vm.prank(bob);
        nodes.setMinNodeStake(1);
    }
}
