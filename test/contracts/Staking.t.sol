// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {CoreFixture} from "./helpers/CoreFixture.sol";
import {Staking} from "../../contracts/Staking.sol";
import {IStaking} from "../../contracts/interfaces/IStaking.sol";
import {IProtocolAccess} from "../../contracts/interfaces/IProtocolAccess.sol";
import {IModelRegistry} from "../../contracts/interfaces/IModelRegistry.sol";
import {FeeOnTransferToken} from "../../contracts/test/FeeOnTransferToken.sol";

contract StakingTest is CoreFixture {
    address internal constant BURN = 0x000000000000000000000000000000000000dEaD;

    // ------------------------------------------------------------ constructor

    function test_constructor_zeroToken_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingZeroAddress.selector));
        new Staking(IERC20(address(0)), models, admin, MIN_VALIDATOR_STAKE, UNBONDING_SECONDS);
    }

    function test_constructor_zeroRegistry_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingZeroAddress.selector));
        new Staking(token, IModelRegistry(address(0)), admin, MIN_VALIDATOR_STAKE, UNBONDING_SECONDS);
    }

    function test_constructor_unbondingOutOfRange_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("unbondingPeriod"),
                1,
                1 hours,
                90 days
            )
        );
        new Staking(token, models, admin, MIN_VALIDATOR_STAKE, 1);
    }

    function test_constructor_valid_setsState() public view {
        assertEq(address(staking.token()), address(token), "token");
        assertEq(address(staking.modelRegistry()), address(models), "registry");
        assertEq(staking.minValidatorStake(), MIN_VALIDATOR_STAKE, "minValidatorStake");
        assertEq(staking.unbondingPeriod(), UNBONDING_SECONDS, "unbonding");
        assertTrue(staking.hasRole(staking.PARAMS_ROLE(), admin), "params role");
        assertTrue(staking.hasRole(staking.PAUSER_ROLE(), admin), "pauser role");
    }

    // ------------------------------------------------------------ stake

    function test_stake_valid_creditsFreeAndEmits() public {
        _fund(alice, 500e18);
        vm.expectEmit(address(staking));
        emit IStaking.Staked(alice, 500e18, 500e18);
        vm.prank(alice);
        staking.stake(500e18);
        (uint256 free, uint256 locked, uint256 unbonding, uint256 releaseAt) = staking.stakeOf(alice);
        assertEq(free, 500e18, "free");
        assertEq(locked + unbonding + releaseAt, 0, "others");
        assertEq(staking.totalStaked(), 500e18, "total");
        assertEq(token.balanceOf(address(staking)), 500e18, "balance");
    }

    function test_stake_zero_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingZeroAmount.selector));
        vm.prank(alice);
        staking.stake(0);
    }

    function test_stake_paused_reverts() public {
        _fund(alice, 1e18);
        vm.prank(admin);
        staking.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(alice);
        staking.stake(1e18);
    }

    function test_stake_above128Bits_reverts() public {
        // Direct mint bypasses the faucet bound: a balance above 2^128 cannot be staked.
        uint256 huge = uint256(type(uint128).max) + 1;
        vm.store(address(token), keccak256(abi.encode(alice, uint256(0))), bytes32(huge));
        vm.prank(alice);
        token.approve(address(staking), huge);
        vm.expectRevert();
        vm.prank(alice);
        staking.stake(huge);
    }

    function test_stake_feeOnTransferToken_reverts() public {
        FeeOnTransferToken feeToken = new FeeOnTransferToken();
        Staking feeStaking = new Staking(feeToken, models, admin, MIN_VALIDATOR_STAKE, UNBONDING_SECONDS);
        feeToken.approve(address(feeStaking), 100e18);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingTransferAmountMismatch.selector, 100e18, 99e18));
        feeStaking.stake(100e18);
    }

    function testFuzz_stake_anyAmount_accountsExactly(uint256 a, uint256 b) public {
        a = bound(a, 1, 1e27);
        b = bound(b, 1, 1e27);
        _stake(alice, a);
        _stake(alice, b);
        (uint256 free, , , ) = staking.stakeOf(alice);
        assertEq(free, a + b, "free");
        assertEq(token.balanceOf(address(staking)), a + b, "balance");
    }

    // ------------------------------------------------------------ requestUnstake

    function test_requestUnstake_valid_movesToUnbonding() public {
        _stake(alice, 100e18);
        uint256 releaseAt = block.timestamp + UNBONDING_SECONDS;
        vm.expectEmit(address(staking));
        emit IStaking.UnstakeRequested(alice, 40e18, 40e18, releaseAt);
        vm.prank(alice);
        staking.requestUnstake(40e18);
        (uint256 free, , uint256 unbonding, uint256 release) = staking.stakeOf(alice);
        assertEq(free, 60e18, "free");
        assertEq(unbonding, 40e18, "unbonding");
        assertEq(release, releaseAt, "release");
        assertEq(staking.totalStaked(), 100e18, "total unchanged");
    }

    function test_requestUnstake_second_addsAndRestartsClock() public {
        _stake(alice, 100e18);
        vm.prank(alice);
        staking.requestUnstake(10e18);
        vm.warp(block.timestamp + 3 days);
        vm.prank(alice);
        staking.requestUnstake(20e18);
        (, , uint256 unbonding, uint256 release) = staking.stakeOf(alice);
        assertEq(unbonding, 30e18, "sum");
        assertEq(release, block.timestamp + UNBONDING_SECONDS, "restarted");
    }

    function test_requestUnstake_zero_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingZeroAmount.selector));
        vm.prank(alice);
        staking.requestUnstake(0);
    }

    function test_requestUnstake_moreThanFree_reverts() public {
        _stake(alice, 100e18);
        _lock(alice, 70e18);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingInsufficientFreeStake.selector, alice, 30e18, 31e18));
        vm.prank(alice);
        staking.requestUnstake(31e18);
    }

    function test_requestUnstake_validatorBelowMinimum_reverts() public {
        _stake(alice, 150e18);
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A));
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.StakingValidatorStakeTooLow.selector, alice, 99e18, MIN_VALIDATOR_STAKE)
        );
        vm.prank(alice);
        staking.requestUnstake(51e18);
    }

    function test_requestUnstake_validatorAboveMinimum_updatesWeight() public {
        _stake(alice, 150e18);
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A));
        vm.expectEmit(address(staking));
        emit IStaking.ValidatorWeightChanged(alice, MODEL_A, 150e18, 100e18);
        vm.prank(alice);
        staking.requestUnstake(50e18);
        assertEq(staking.validatorWeight(MODEL_A, alice), 100e18, "weight excludes unbonding");
    }

    function test_requestUnstake_paused_stillWorks() public {
        _stake(alice, 100e18);
        vm.prank(admin);
        staking.pause();
        vm.prank(alice);
        staking.requestUnstake(100e18);
        (, , uint256 unbonding, ) = staking.stakeOf(alice);
        assertEq(unbonding, 100e18, "unbonding");
    }

    // ------------------------------------------------------------ withdrawUnbonded

    function test_withdrawUnbonded_afterRelease_transfers() public {
        _stake(alice, 100e18);
        vm.prank(alice);
        staking.requestUnstake(100e18);
        vm.warp(block.timestamp + UNBONDING_SECONDS);
        vm.expectEmit(address(staking));
        emit IStaking.UnbondedWithdrawn(alice, 100e18);
        vm.prank(alice);
        uint256 amount = staking.withdrawUnbonded();
        assertEq(amount, 100e18, "amount");
        assertEq(token.balanceOf(alice), 100e18, "alice balance");
        assertEq(staking.totalStaked(), 0, "total");
        (, , uint256 unbonding, uint256 release) = staking.stakeOf(alice);
        assertEq(unbonding + release, 0, "cleared");
    }

    function test_withdrawUnbonded_beforeRelease_reverts() public {
        _stake(alice, 100e18);
        vm.prank(alice);
        staking.requestUnstake(100e18);
        uint256 releaseAt = block.timestamp + UNBONDING_SECONDS;
        vm.warp(releaseAt - 1);
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.StakingUnbondingNotReleased.selector, alice, releaseAt, releaseAt - 1)
        );
        vm.prank(alice);
        staking.withdrawUnbonded();
    }

    function test_withdrawUnbonded_nothing_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingNothingUnbonding.selector, alice));
        vm.prank(alice);
        staking.withdrawUnbonded();
    }

    function test_withdrawUnbonded_paused_stillWorks() public {
        _stake(alice, 100e18);
        vm.prank(alice);
        staking.requestUnstake(100e18);
        vm.prank(admin);
        staking.pause();
        vm.warp(block.timestamp + UNBONDING_SECONDS);
        vm.prank(alice);
        staking.withdrawUnbonded();
        assertEq(token.balanceOf(alice), 100e18, "withdrawn while paused");
    }

    function testFuzz_withdrawUnbonded_timing_onlyAfterRelease(uint256 wait) public {
        wait = bound(wait, 0, 2 * UNBONDING_SECONDS);
        _stake(alice, 10e18);
        vm.prank(alice);
        staking.requestUnstake(10e18);
        vm.warp(block.timestamp + wait);
        vm.prank(alice);
        (bool ok, ) = address(staking).call(abi.encodeCall(IStaking.withdrawUnbonded, ()));
        assertEq(ok, wait >= UNBONDING_SECONDS, "release time");
    }

    // ------------------------------------------------------------ lock and unlock

    function test_lock_valid_movesFreeToLocked() public {
        _stake(alice, 100e18);
        vm.expectEmit(address(staking));
        emit IStaking.StakeLocked(alice, locker, 60e18, 60e18);
        _lock(alice, 60e18);
        (uint256 free, uint256 locked, , ) = staking.stakeOf(alice);
        assertEq(free, 40e18, "free");
        assertEq(locked, 60e18, "locked");
        assertEq(staking.lockedOf(alice), 60e18, "lockedOf");
        assertEq(_active(alice), 100e18, "active unchanged");
    }

    function test_lock_moreThanFree_reverts() public {
        _stake(alice, 100e18);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingInsufficientFreeStake.selector, alice, 100e18, 101e18));
        _lock(alice, 101e18);
    }

    function test_lock_notLocker_reverts() public {
        _stake(alice, 100e18);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                alice,
                staking.LOCKER_ROLE()
            )
        );
        vm.prank(alice);
        staking.lock(alice, 1);
    }

    function test_lock_paused_reverts() public {
        _stake(alice, 100e18);
        vm.prank(admin);
        staking.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        _lock(alice, 1);
    }

    function test_lock_gas_isCheap() public {
        _stake(alice, 100e18);
        _lock(alice, 1e18);
        vm.prank(locker);
        uint256 before = gasleft();
        staking.lock(alice, 1e18);
        uint256 used = before - gasleft();
        // Warm call after a first lock: one account slot read and written, one role check, one event.
        assertLe(used, 12_000, "lock gas");
    }

    function test_unlock_valid_movesBack() public {
        _stake(alice, 100e18);
        _lock(alice, 60e18);
        vm.expectEmit(address(staking));
        emit IStaking.StakeUnlocked(alice, locker, 20e18, 40e18);
        vm.prank(locker);
        uint256 unlocked = staking.unlock(alice, 20e18);
        assertEq(unlocked, 20e18, "unlocked");
        (uint256 free, uint256 locked, , ) = staking.stakeOf(alice);
        assertEq(free, 60e18, "free");
        assertEq(locked, 40e18, "locked");
    }

    function test_unlock_moreThanLocked_clamps() public {
        _stake(alice, 100e18);
        _lock(alice, 60e18);
        (address[] memory b, uint256[] memory s) = _noShares();
        vm.prank(slasher);
        staking.slash(alice, 50e18, b, s);
        vm.prank(locker);
        uint256 unlocked = staking.unlock(alice, 60e18);
        assertEq(unlocked, 10e18, "only what the slash left");
        (uint256 free, uint256 locked, , ) = staking.stakeOf(alice);
        assertEq(free, 50e18, "free");
        assertEq(locked, 0, "locked");
    }

    function test_unlock_notLocker_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, staking.LOCKER_ROLE())
        );
        vm.prank(bob);
        staking.unlock(alice, 1);
    }

    function test_unlock_paused_stillWorks() public {
        _stake(alice, 100e18);
        _lock(alice, 60e18);
        vm.prank(admin);
        staking.pause();
        vm.prank(locker);
        assertEq(staking.unlock(alice, 60e18), 60e18, "unlocked while paused");
    }

    // ------------------------------------------------------------ slash

    function test_slash_order_lockedThenFreeThenUnbonding() public {
        _stake(alice, 100e18);
        _lock(alice, 30e18);
        vm.prank(alice);
        staking.requestUnstake(50e18); // free 20, locked 30, unbonding 50
        (address[] memory b, uint256[] memory s) = _noShares();
        vm.expectEmit(address(staking));
        emit IStaking.Slashed(alice, slasher, 60e18, 60e18, 30e18, 20e18, 10e18, 60e18);
        vm.prank(slasher);
        uint256 slashed = staking.slash(alice, 60e18, b, s);
        assertEq(slashed, 60e18, "slashed");
        (uint256 free, uint256 locked, uint256 unbonding, uint256 release) = staking.stakeOf(alice);
        assertEq(free + locked, 0, "free and locked taken");
        assertEq(unbonding, 40e18, "unbonding reduced");
        assertGt(release, 0, "release kept");
        assertEq(token.balanceOf(BURN), 60e18, "burned");
        assertEq(staking.totalBurned(), 60e18, "totalBurned");
        assertEq(staking.totalStaked(), 40e18, "totalStaked");
    }

    function test_slash_moreThanStake_takesAllAndClearsRelease() public {
        _stake(alice, 100e18);
        vm.prank(alice);
        staking.requestUnstake(100e18);
        (address[] memory b, uint256[] memory s) = _noShares();
        vm.prank(slasher);
        uint256 slashed = staking.slash(alice, 1_000e18, b, s);
        assertEq(slashed, 100e18, "capped at stake");
        (, , uint256 unbonding, uint256 release) = staking.stakeOf(alice);
        assertEq(unbonding + release, 0, "unbonding cleared");
    }

    function test_slash_unbondingCannotDodge_slashesUnbonding() public {
        _stake(alice, 100e18);
        vm.prank(alice);
        staking.requestUnstake(100e18);
        vm.warp(block.timestamp + UNBONDING_SECONDS - 1);
        (address[] memory b, uint256[] memory s) = _noShares();
        vm.prank(slasher);
        staking.slash(alice, 100e18, b, s);
        vm.warp(block.timestamp + 1);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingNothingUnbonding.selector, alice));
        vm.prank(alice);
        staking.withdrawUnbonded();
    }

    function test_slash_shares_creditsAndBurnsRemainder() public {
        _stake(alice, 100e18);
        address[] memory b = new address[](2);
        uint256[] memory s = new uint256[](2);
        (b[0], b[1], s[0], s[1]) = (bob, carol, 1_000, 2_500);
        vm.expectEmit(address(staking));
        emit IStaking.Credited(bob, alice, 10e18);
        vm.expectEmit(address(staking));
        emit IStaking.Credited(carol, alice, 25e18);
        vm.prank(slasher);
        staking.slash(alice, 100e18, b, s);
        assertEq(staking.creditOf(bob), 10e18, "bob");
        assertEq(staking.creditOf(carol), 25e18, "carol");
        assertEq(staking.totalCredits(), 35e18, "credits");
        assertEq(token.balanceOf(BURN), 65e18, "burn");
        assertEq(token.balanceOf(address(staking)), 35e18, "held = credits");
    }

    function test_slash_fullShare_burnsNothing() public {
        _stake(alice, 100e18);
        (address[] memory b, uint256[] memory s) = _oneShare(bob, 10_000);
        vm.prank(slasher);
        staking.slash(alice, 40e18, b, s);
        assertEq(staking.creditOf(bob), 40e18, "bob");
        assertEq(token.balanceOf(BURN), 0, "nothing burned");
    }

    function test_slash_nothingStaked_returnsZero() public {
        (address[] memory b, uint256[] memory s) = _oneShare(bob, 5_000);
        vm.prank(slasher);
        assertEq(staking.slash(alice, 100e18, b, s), 0, "zero");
        assertEq(staking.creditOf(bob), 0, "no credit");
    }

    function test_slash_lengthMismatch_reverts() public {
        address[] memory b = new address[](2);
        uint256[] memory s = new uint256[](1);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingBeneficiaryLengthMismatch.selector, 2, 1));
        vm.prank(slasher);
        staking.slash(alice, 1, b, s);
    }

    function test_slash_tooManyBeneficiaries_reverts() public {
        address[] memory b = new address[](9);
        uint256[] memory s = new uint256[](9);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingTooManyBeneficiaries.selector, 9, 8));
        vm.prank(slasher);
        staking.slash(alice, 1, b, s);
    }

    function test_slash_bpsAbove100Percent_reverts() public {
        address[] memory b = new address[](2);
        uint256[] memory s = new uint256[](2);
        (b[0], b[1], s[0], s[1]) = (bob, carol, 5_000, 5_001);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingBpsSumTooHigh.selector, 10_001, 10_000));
        vm.prank(slasher);
        staking.slash(alice, 1, b, s);
    }

    function test_slash_zeroBeneficiary_reverts() public {
        (address[] memory b, uint256[] memory s) = _oneShare(address(0), 1);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingZeroAddress.selector));
        vm.prank(slasher);
        staking.slash(alice, 1, b, s);
    }

    function test_slash_notSlasher_reverts() public {
        (address[] memory b, uint256[] memory s) = _noShares();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector,
                locker,
                staking.SLASHER_ROLE()
            )
        );
        vm.prank(locker);
        staking.slash(alice, 1, b, s);
    }

    function test_slash_paused_stillWorks() public {
        _stake(alice, 100e18);
        vm.prank(admin);
        staking.pause();
        (address[] memory b, uint256[] memory s) = _noShares();
        vm.prank(slasher);
        assertEq(staking.slash(alice, 10e18, b, s), 10e18, "slash while paused");
    }

    function test_slash_validator_reducesWeight() public {
        _stake(alice, 300e18);
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A));
        (address[] memory b, uint256[] memory s) = _noShares();
        vm.prank(slasher);
        staking.slash(alice, 100e18, b, s);
        assertEq(staking.validatorWeight(MODEL_A, alice), 200e18, "reduced");
        vm.prank(slasher);
        staking.slash(alice, 150e18, b, s);
        assertEq(staking.validatorWeight(MODEL_A, alice), 0, "below minimum: out of sortition");
        assertTrue(staking.isValidatorFor(alice, MODEL_A), "still declared");
        assertEq(staking.drawValidator(MODEL_A, 123), address(0), "nobody to draw");
    }

    function testFuzz_slash_neverExceedsStake(
        uint256 stakeAmount,
        uint256 lockAmount,
        uint256 unstakeAmount,
        uint256 slashAmount,
        uint256 share
    ) public {
        stakeAmount = bound(stakeAmount, 1, 1e27);
        lockAmount = bound(lockAmount, 0, stakeAmount);
        unstakeAmount = bound(unstakeAmount, 0, stakeAmount - lockAmount);
        share = bound(share, 0, 10_000);
        _stake(alice, stakeAmount);
        _lock(alice, lockAmount);
        if (unstakeAmount > 0) {
            vm.prank(alice);
            staking.requestUnstake(unstakeAmount);
        }
        (address[] memory b, uint256[] memory s) = _oneShare(bob, share);
        vm.prank(slasher);
        uint256 slashed = staking.slash(alice, slashAmount, b, s);
        assertEq(slashed, slashAmount < stakeAmount ? slashAmount : stakeAmount, "min(amount, stake)");
        (uint256 free, uint256 locked, uint256 unbonding, ) = staking.stakeOf(alice);
        assertEq(free + locked + unbonding, stakeAmount - slashed, "stake reduced by slashed");
        assertEq(staking.creditOf(bob) + token.balanceOf(BURN), slashed, "credited + burned == slashed");
        assertEq(token.balanceOf(address(staking)), staking.totalStaked() + staking.totalCredits(), "conservation");
    }

    // ------------------------------------------------------------ credits

    function test_withdrawCredits_valid_transfers() public {
        _stake(alice, 100e18);
        (address[] memory b, uint256[] memory s) = _oneShare(bob, 2_000);
        vm.prank(slasher);
        staking.slash(alice, 100e18, b, s);
        vm.expectEmit(address(staking));
        emit IStaking.CreditsWithdrawn(bob, 20e18);
        vm.prank(bob);
        assertEq(staking.withdrawCredits(), 20e18, "amount");
        assertEq(token.balanceOf(bob), 20e18, "bob balance");
        assertEq(staking.creditOf(bob), 0, "cleared");
        assertEq(staking.totalCredits(), 0, "total");
    }

    function test_withdrawCredits_none_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingNoCredits.selector, bob));
        vm.prank(bob);
        staking.withdrawCredits();
    }

    function test_withdrawCredits_paused_stillWorks() public {
        _stake(alice, 100e18);
        (address[] memory b, uint256[] memory s) = _oneShare(bob, 2_000);
        vm.prank(slasher);
        staking.slash(alice, 100e18, b, s);
        vm.prank(admin);
        staking.pause();
        vm.prank(bob);
        staking.withdrawCredits();
        assertEq(token.balanceOf(bob), 20e18, "withdrawn while paused");
    }

    // ------------------------------------------------------------ validators

    function test_declareValidator_valid_entersTrees() public {
        _stake(alice, 200e18);
        vm.expectEmit(address(staking));
        emit IStaking.ValidatorModelDeclared(alice, MODEL_A);
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A, MODEL_B));
        assertEq(staking.validatorWeight(MODEL_A, alice), 200e18, "weight A");
        assertEq(staking.validatorWeight(MODEL_B, alice), 200e18, "weight B");
        assertEq(staking.totalValidatorWeight(MODEL_A), 200e18, "total A");
        assertEq(staking.validatorModels(alice).length, 2, "models");
        assertTrue(staking.isValidatorFor(alice, MODEL_B), "isValidatorFor");
        assertEq(staking.drawValidator(MODEL_A, 42), alice, "only validator drawn");
    }

    function test_declareValidator_lowStake_reverts() public {
        _stake(alice, 99e18);
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.StakingValidatorStakeTooLow.selector, alice, 99e18, MIN_VALIDATOR_STAKE)
        );
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A));
    }

    function test_declareValidator_inactiveModel_reverts() public {
        _stake(alice, 100e18);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingModelNotActive.selector, MODEL_UNKNOWN));
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_UNKNOWN));
    }

    function test_declareValidator_duplicate_reverts() public {
        _stake(alice, 100e18);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingModelAlreadyDeclared.selector, alice, MODEL_A));
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A, MODEL_A));
    }

    function test_declareValidator_tooManyModels_reverts() public {
        _stake(alice, 100e18);
        bytes32[] memory ids = new bytes32[](17);
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingTooManyModels.selector, alice, 17, 16));
        vm.prank(alice);
        staking.declareValidator(ids);
    }

    function test_declareValidator_sixteenModels_works() public {
        _stake(alice, 100e18);
        bytes32[] memory ids = new bytes32[](16);
        vm.startPrank(modelOwner);
        for (uint256 i; i < 16; ++i) {
            ids[i] = keccak256(abi.encode("m", i));
            models.registerModel(ids[i], "ipfs://m", _metadata(Q8_0), 0);
        }
        vm.stopPrank();
        vm.prank(alice);
        staking.declareValidator(ids);
        _stake(alice, 1e18);
        for (uint256 i; i < 16; ++i) assertEq(staking.validatorWeight(ids[i], alice), 101e18, "each tree");
    }

    function test_declareValidator_paused_reverts() public {
        _stake(alice, 100e18);
        vm.prank(admin);
        staking.pause();
        vm.expectRevert(abi.encodeWithSelector(Pausable.EnforcedPause.selector));
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A));
    }

    function test_undeclareModel_valid_leavesTree() public {
        _stake(alice, 200e18);
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A, MODEL_B));
        vm.expectEmit(address(staking));
        emit IStaking.ValidatorModelUndeclared(alice, MODEL_A);
        vm.prank(alice);
        staking.undeclareModel(MODEL_A);
        assertEq(staking.validatorWeight(MODEL_A, alice), 0, "A gone");
        assertEq(staking.totalValidatorWeight(MODEL_A), 0, "A total");
        assertFalse(staking.isValidatorFor(alice, MODEL_A), "A undeclared");
        bytes32[] memory left = staking.validatorModels(alice);
        assertEq(left.length, 1, "one left");
        assertEq(left[0], MODEL_B, "B moved");
        vm.prank(alice);
        staking.undeclareModel(MODEL_B);
        assertEq(staking.validatorModels(alice).length, 0, "none left");
        vm.prank(alice);
        staking.requestUnstake(200e18); // no longer a validator: may leave entirely
    }

    function test_undeclareModel_notDeclared_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStaking.StakingModelNotDeclared.selector, alice, MODEL_A));
        vm.prank(alice);
        staking.undeclareModel(MODEL_A);
    }

    function test_undeclareModel_zeroWeight_emitsNoWeightChange() public {
        _stake(alice, 100e18);
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A));
        vm.prank(admin);
        staking.setMinValidatorStake(200e18);
        staking.refreshValidator(alice);
        assertEq(staking.validatorWeight(MODEL_A, alice), 0, "below new minimum");
        vm.prank(alice);
        staking.undeclareModel(MODEL_A);
        assertFalse(staking.isValidatorFor(alice, MODEL_A), "undeclared");
    }

    function test_refreshValidator_afterMinimumChange_updatesWeight() public {
        _stake(alice, 150e18);
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A));
        vm.prank(admin);
        staking.setMinValidatorStake(200e18);
        assertEq(staking.validatorWeight(MODEL_A, alice), 150e18, "stale until refreshed");
        vm.expectEmit(address(staking));
        emit IStaking.ValidatorWeightChanged(alice, MODEL_A, 150e18, 0);
        staking.refreshValidator(alice);
        assertEq(staking.validatorWeight(MODEL_A, alice), 0, "refreshed");
        _stake(alice, 50e18);
        assertEq(staking.validatorWeight(MODEL_A, alice), 200e18, "back in");
    }

    function test_refreshValidator_nonValidator_noop() public {
        staking.refreshValidator(bob);
        assertEq(staking.validatorModels(bob).length, 0, "nothing");
    }

    function test_stake_validator_increasesWeight() public {
        _stake(alice, 100e18);
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A));
        _stake(alice, 50e18);
        assertEq(staking.validatorWeight(MODEL_A, alice), 150e18, "weight");
        _lock(alice, 100e18);
        assertEq(staking.validatorWeight(MODEL_A, alice), 150e18, "lock keeps weight");
    }

    function test_drawValidator_distribution_matchesWeights() public {
        _stake(alice, 100e18);
        _stake(bob, 200e18);
        _stake(carol, 700e18);
        vm.prank(alice);
        staking.declareValidator(_models(MODEL_A));
        vm.prank(bob);
        staking.declareValidator(_models(MODEL_A));
        vm.prank(carol);
        staking.declareValidator(_models(MODEL_A));
        uint256[3] memory hits;
        uint256 draws = 2_000;
        for (uint256 i; i < draws; ++i) {
            address drawn = staking.drawValidator(MODEL_A, uint256(keccak256(abi.encode("draw", i))));
            if (drawn == alice) hits[0]++;
            else if (drawn == bob) hits[1]++;
            else if (drawn == carol) hits[2]++;
            else revert("unknown validator drawn");
        }
        // Expected 200 / 400 / 1400; tolerance ~4.5 standard deviations (sd = sqrt(n p (1-p)): 13.4, 17.9, 20.5).
        assertApproxEqAbs(hits[0], 200, 60, "alice 10%");
        assertApproxEqAbs(hits[1], 400, 80, "bob 20%");
        assertApproxEqAbs(hits[2], 1_400, 92, "carol 70%");
    }

    // ------------------------------------------------------------ parameters

    function test_setMinValidatorStake_valid_emits() public {
        vm.expectEmit(address(staking));
        emit IProtocolAccess.ParameterChanged("minValidatorStake", MIN_VALIDATOR_STAKE, 5e18);
        vm.prank(admin);
        staking.setMinValidatorStake(5e18);
        assertEq(staking.minValidatorStake(), 5e18, "set");
    }

    function test_setMinValidatorStake_outOfRange_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("minValidatorStake"),
                0,
                1,
                1e30
            )
        );
        vm.prank(admin);
        staking.setMinValidatorStake(0);
    }

    function test_setMinValidatorStake_notParams_reverts() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, bob, staking.PARAMS_ROLE())
        );
        vm.prank(bob);
        staking.setMinValidatorStake(5e18);
    }

    function test_setUnbondingPeriod_valid_appliesToNewRequests() public {
        _stake(alice, 100e18);
        vm.prank(alice);
        staking.requestUnstake(10e18);
        (, , , uint256 releaseBefore) = staking.stakeOf(alice);
        vm.prank(admin);
        staking.setUnbondingPeriod(1 days);
        (, , , uint256 releaseAfter) = staking.stakeOf(alice);
        assertEq(releaseAfter, releaseBefore, "pending release unchanged");
        vm.prank(alice);
        staking.requestUnstake(10e18);
        (, , , releaseAfter) = staking.stakeOf(alice);
        assertEq(releaseAfter, block.timestamp + 1 days, "new period");
    }

    function testFuzz_setUnbondingPeriod_bounds(uint256 value) public {
        vm.prank(admin);
        (bool ok, ) = address(staking).call(abi.encodeCall(IStaking.setUnbondingPeriod, (value)));
        assertEq(ok, value >= 1 hours && value <= 90 days, "in range iff accepted");
    }
}
