// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {CoreFixture} from "./helpers/CoreFixture.sol";
import {ModelRegistry} from "../../contracts/ModelRegistry.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {IProtocolAccess} from "../../contracts/interfaces/IProtocolAccess.sol";

contract ModelRegistryTest is CoreFixture {
    bytes32 internal constant MODEL_C = keccak256("model-c.gguf");

    function _register(bytes32 id, uint256 royalty) internal {
        vm.prank(alice);
        models.registerModel(id, "ipfs://c", _metadata(Q8_0), royalty);
    }

    function test_constructor_royaltyBoundTooHigh_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("maxRoyaltyPerToken"),
                1e21 + 1,
                0,
                1e21
            )
        );
        new ModelRegistry(admin, 1e21 + 1);
    }

    function test_registerModel_valid_storesAndEmits() public {
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelRegistered(MODEL_C, alice, "ipfs://c", _metadata(Q8_0), 5);
        _register(MODEL_C, 5);
        IModelRegistry.Model memory model = models.getModel(MODEL_C);
        assertEq(model.owner, alice, "owner");
        assertEq(model.registeredAt, block.timestamp, "registeredAt");
        assertEq(model.uri, "ipfs://c", "uri");
        assertEq(model.metadata.family, "llama", "family");
        assertEq(model.metadata.quantization, Q8_0, "quantization");
        assertEq(model.metadata.defaultProfileHash, keccak256("profile"), "profile");
        assertTrue(models.isActive(MODEL_C), "active");
        assertEq(models.quantizationOf(MODEL_C), Q8_0, "quantizationOf");
        (address owner, uint256 royalty) = models.royaltyOf(MODEL_C);
        assertEq(owner, alice, "royalty owner");
        assertEq(royalty, 5, "royalty");
    }

    function test_registerModel_zeroId_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryZeroModelId.selector));
        _register(bytes32(0), 0);
    }

    function test_registerModel_duplicate_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryAlreadyRegistered.selector, MODEL_A));
        _register(MODEL_A, 0);
    }

    function test_registerModel_emptyUri_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidUri.selector, 0, 512));
        vm.prank(alice);
        models.registerModel(MODEL_C, "", _metadata(Q8_0), 0);
    }

    function test_registerModel_longUri_reverts() public {
        string memory uri = string(new bytes(513));
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidUri.selector, 513, 512));
        vm.prank(alice);
        models.registerModel(MODEL_C, uri, _metadata(Q8_0), 0);
    }

    function test_registerModel_emptyFamily_reverts() public {
        IModelRegistry.ModelMetadata memory meta = _metadata(Q8_0);
        meta.family = "";
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidFamily.selector, 0, 64));
        vm.prank(alice);
        models.registerModel(MODEL_C, "ipfs://c", meta, 0);
    }

    function test_registerModel_longFamily_reverts() public {
        IModelRegistry.ModelMetadata memory meta = _metadata(Q8_0);
        meta.family = string(new bytes(65));
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidFamily.selector, 65, 64));
        vm.prank(alice);
        models.registerModel(MODEL_C, "ipfs://c", meta, 0);
    }

    function test_registerModel_zeroParameterCount_reverts() public {
        IModelRegistry.ModelMetadata memory meta = _metadata(Q8_0);
        meta.parameterCount = 0;
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidMetadata.selector, 0, 4096));
        vm.prank(alice);
        models.registerModel(MODEL_C, "ipfs://c", meta, 0);
    }

    function test_registerModel_zeroContext_reverts() public {
        IModelRegistry.ModelMetadata memory meta = _metadata(Q8_0);
        meta.contextLength = 0;
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidMetadata.selector, 134_000_000, 0));
        vm.prank(alice);
        models.registerModel(MODEL_C, "ipfs://c", meta, 0);
    }

    function test_registerModel_royaltyAboveMax_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryRoyaltyTooHigh.selector, MAX_ROYALTY + 1, MAX_ROYALTY)
        );
        _register(MODEL_C, MAX_ROYALTY + 1);
    }

    function test_registerModel_paused_reverts() public {
        vm.prank(admin);
        models.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        _register(MODEL_C, 0);
    }

    function testFuzz_registerModel_royalty_acceptedIffBounded(uint256 royalty) public {
        vm.prank(alice);
        (bool ok, ) = address(models).call(
            abi.encodeCall(IModelRegistry.registerModel, (MODEL_C, "ipfs://c", _metadata(Q8_0), royalty))
        );
        assertEq(ok, royalty <= MAX_ROYALTY, "bounded royalty");
    }

    function test_setModelUri_owner_updates() public {
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelUriUpdated(MODEL_A, "https://new");
        vm.prank(modelOwner);
        models.setModelUri(MODEL_A, "https://new");
        assertEq(models.getModel(MODEL_A).uri, "https://new", "uri");
    }

    function test_setModelUri_notOwner_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryNotOwner.selector, MODEL_A, alice, modelOwner)
        );
        vm.prank(alice);
        models.setModelUri(MODEL_A, "https://new");
    }

    function test_setModelUri_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, MODEL_C));
        vm.prank(alice);
        models.setModelUri(MODEL_C, "https://new");
    }

    function test_setModelUri_deprecated_reverts() public {
        vm.startPrank(modelOwner);
        models.deprecateModel(MODEL_A);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryModelDeprecated.selector, MODEL_A));
        models.setModelUri(MODEL_A, "https://new");
        vm.stopPrank();
    }

    function test_setModelUri_empty_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryInvalidUri.selector, 0, 512));
        vm.prank(modelOwner);
        models.setModelUri(MODEL_A, "");
    }

    function test_deprecateModel_owner_deactivates() public {
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelDeprecated(MODEL_A);
        vm.prank(modelOwner);
        models.deprecateModel(MODEL_A);
        assertFalse(models.isActive(MODEL_A), "inactive");
        assertTrue(models.getModel(MODEL_A).deprecated, "deprecated");
    }

    function test_deprecateModel_twice_reverts() public {
        vm.startPrank(modelOwner);
        models.deprecateModel(MODEL_A);
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryModelDeprecated.selector, MODEL_A));
        models.deprecateModel(MODEL_A);
        vm.stopPrank();
    }

    function test_deprecateModel_notOwner_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryNotOwner.selector, MODEL_A, bob, modelOwner)
        );
        vm.prank(bob);
        models.deprecateModel(MODEL_A);
    }

    function test_transferModelOwnership_twoStep_transfers() public {
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelOwnershipTransferStarted(MODEL_A, modelOwner, bob);
        vm.prank(modelOwner);
        models.transferModelOwnership(MODEL_A, bob);
        assertEq(models.getModel(MODEL_A).owner, modelOwner, "not yet");
        assertEq(models.getModel(MODEL_A).pendingOwner, bob, "pending");
        vm.expectEmit(address(models));
        emit IModelRegistry.ModelOwnershipTransferred(MODEL_A, modelOwner, bob);
        vm.prank(bob);
        models.acceptModelOwnership(MODEL_A);
        (address owner, ) = models.royaltyOf(MODEL_A);
        assertEq(owner, bob, "royalties follow owner");
        assertEq(models.getModel(MODEL_A).pendingOwner, address(0), "pending cleared");
    }

    function test_transferModelOwnership_notOwner_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryNotOwner.selector, MODEL_A, bob, modelOwner)
        );
        vm.prank(bob);
        models.transferModelOwnership(MODEL_A, bob);
    }

    function test_acceptModelOwnership_wrongCaller_reverts() public {
        vm.prank(modelOwner);
        models.transferModelOwnership(MODEL_A, bob);
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryNotPendingOwner.selector, MODEL_A, carol, bob)
        );
        vm.prank(carol);
        models.acceptModelOwnership(MODEL_A);
    }

    function test_acceptModelOwnership_cancelled_reverts() public {
        vm.startPrank(modelOwner);
        models.transferModelOwnership(MODEL_A, bob);
        models.transferModelOwnership(MODEL_A, address(0));
        vm.stopPrank();
        vm.expectRevert(
            abi.encodeWithSelector(IModelRegistry.ModelRegistryNotPendingOwner.selector, MODEL_A, bob, address(0))
        );
        vm.prank(bob);
        models.acceptModelOwnership(MODEL_A);
    }

    function test_acceptModelOwnership_zeroCallerNoPending_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IModelRegistry.ModelRegistryNotPendingOwner.selector,
                MODEL_A,
                address(0),
                address(0)
            )
        );
        vm.prank(address(0));
        models.acceptModelOwnership(MODEL_A);
    }

    function test_setMaxRoyaltyPerToken_lowered_clampsRoyaltyOf() public {
        vm.expectEmit(address(models));
        emit IProtocolAccess.ParameterChanged("maxRoyaltyPerToken", MAX_ROYALTY, 1e11);
        vm.prank(admin);
        models.setMaxRoyaltyPerToken(1e11);
        (, uint256 royalty) = models.royaltyOf(MODEL_A);
        assertEq(royalty, 1e11, "clamped");
        assertEq(models.getModel(MODEL_A).royaltyPerToken, 1e12, "stored unchanged");
    }

    function test_setMaxRoyaltyPerToken_outOfRange_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("maxRoyaltyPerToken"),
                1e22,
                0,
                1e21
            )
        );
        vm.prank(admin);
        models.setMaxRoyaltyPerToken(1e22);
    }

    function test_setMaxRoyaltyPerToken_notParams_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, models.PARAMS_ROLE())
        );
        vm.prank(bob);
        models.setMaxRoyaltyPerToken(1);
    }

    function test_getModel_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, MODEL_C));
        models.getModel(MODEL_C);
    }

    function test_isActive_unknown_false() public view {
        assertFalse(models.isActive(MODEL_C), "unknown is inactive");
    }

    function test_quantizationOf_unknown_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IModelRegistry.ModelRegistryUnknownModel.selector, MODEL_C));
        models.quantizationOf(MODEL_C);
    }
}
