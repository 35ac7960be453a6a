// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "../utils/Test.sol";
import {TestToken} from "../../../contracts/token/TestToken.sol";
import {RewardPool} from "../../../contracts/committee/RewardPool.sol";
import {IRewardPool} from "../../../contracts/interfaces/IRewardPool.sol";

contract RewardPoolTest is Test {
    uint256 internal constant EPOCH = 1 days;
    uint256 internal constant WINDOW = 4;

    TestToken internal token;
    RewardPool internal pool;
    address internal admin;
    address internal settlement;
    address internal treasury;
    address internal honest;
    address internal farmer;

    function setUp() public {
        vm.warp(1_700_000_000);
        admin = makeAddr("admin");
        settlement = makeAddr("settlement");
        treasury = makeAddr("treasury");
        honest = makeAddr("honest");
        farmer = makeAddr("farmer");
        token = new TestToken(0);
        vm.startPrank(admin);
        pool = new RewardPool(admin, token, EPOCH, WINDOW);
        pool.grantRole(pool.WORK_RECORDER_ROLE(), settlement);
        pool.grantRole(pool.FEE_DEPOSITOR_ROLE(), treasury);
        vm.stopPrank();
        token.faucet(treasury, 1_000_000e18);
        vm.prank(treasury);
        token.approve(address(pool), type(uint256).max);
    }

    function _fund(uint256 epoch, uint256 amount) internal {
        vm.prank(treasury);
        pool.fund(epoch, amount);
    }

    function _work(address who, uint256 paid, uint256 fees) internal {
        vm.prank(settlement);
        pool.recordWork(who, paid, fees);
    }

    function _nextEpoch() internal {
        vm.warp(block.timestamp + EPOCH);
    }

    function _claim(address who, uint256 epoch) internal returns (uint256) {
        vm.prank(who);
        return pool.claim(epoch);
    }

    function test_sharesByWork() public {
        _fund(0, 90e18);
        _work(honest, 200e18, 100e18);
        _work(farmer, 100e18, 100e18);
        _nextEpoch();
        assertEq(_claim(honest, 0), 60e18, "2/3 of the pool");
        assertEq(_claim(farmer, 0), 30e18, "1/3 of the pool");
        assertEq(token.balanceOf(address(pool)), 0, "all paid");
    }

    function test_selfDealing_cappedByFeesPaid_neverProfits() public {
        // A node that buys 1,000 from itself pays a 2% fee (20) and earns at most that back.
        _fund(0, 100e18);
        _work(honest, 100e18, 2e18);
        _work(farmer, 1_000e18, 20e18);
        _nextEpoch();
        (uint256 share, uint256 amount) = pool.claimable(0, farmer);
        assertGt(share, 20e18, "share above the cap");
        assertEq(amount, 20e18, "capped at the fees paid");
        assertEq(_claim(farmer, 0), 20e18, "paid the fees back, no more");
        // The capped part moves to the current epoch's pool.
        assertEq(pool.epochOf(1).pool, share - 20e18, "recycled");
        assertEq(_claim(honest, 0), 2e18, "the honest node is capped too");
    }

    function testFuzz_selfDealing_rewardNeverExceedsFees(uint256 poolAmount, uint256 paid, uint256 feeBps) public {
        poolAmount = bound(poolAmount, 1, 1e24);
        paid = bound(paid, 1, 1e24);
        feeBps = bound(feeBps, 0, 1_000);
        uint256 fees = (paid * feeBps) / 10_000;
        _fund(0, poolAmount);
        _work(farmer, paid, fees);
        _nextEpoch();
        (, uint256 amount) = pool.claimable(0, farmer);
        assertLe(amount, fees, "reward <= fees paid");
    }

    function test_claim_rules() public {
        _fund(0, 10e18);
        _work(honest, 1e18, 1e18);
        vm.expectRevert(abi.encodeWithSelector(IRewardPool.RewardPoolEpochNotEnded.selector, 0, 0));
        _claim(honest, 0);
        _nextEpoch();
        vm.expectRevert(abi.encodeWithSelector(IRewardPool.RewardPoolNothingToClaim.selector, 0, farmer));
        _claim(farmer, 0);
        _claim(honest, 0);
        vm.expectRevert(abi.encodeWithSelector(IRewardPool.RewardPoolAlreadyClaimed.selector, 0, honest));
        _claim(honest, 0);
        (uint256 share, uint256 amount) = pool.claimable(0, honest);
        assertEq(share + amount, 0, "nothing after the claim");
    }

    function test_claim_expired_andSweep() public {
        _fund(0, 10e18);
        _work(honest, 1e18, 1e18);
        _work(farmer, 1e18, 1e18);
        _nextEpoch();
        _claim(honest, 0);
        vm.expectRevert(abi.encodeWithSelector(IRewardPool.RewardPoolNotSweepable.selector, 0));
        pool.sweep(0);
        vm.warp(block.timestamp + WINDOW * EPOCH);
        vm.expectRevert(abi.encodeWithSelector(IRewardPool.RewardPoolClaimExpired.selector, 0, WINDOW));
        _claim(farmer, 0);
        uint256 current = pool.currentEpoch();
        // honest's share was 5 (capped at 1: 4 recycled into epoch 1); farmer's 5 is unclaimed.
        assertEq(pool.epochOf(1).pool, 4e18, "capped part recycled");
        assertEq(pool.sweep(0), 5e18, "unclaimed share");
        assertEq(pool.epochOf(current).pool, 5e18, "moved forward");
        vm.expectRevert(abi.encodeWithSelector(IRewardPool.RewardPoolNotSweepable.selector, 0));
        pool.sweep(0);
        (uint256 share, ) = pool.claimable(0, farmer);
        assertEq(share, 0, "swept");
    }

    function test_sweep_epochWithoutWork_atOnce() public {
        _fund(0, 10e18);
        vm.expectRevert(abi.encodeWithSelector(IRewardPool.RewardPoolNotSweepable.selector, 0));
        pool.sweep(0);
        _nextEpoch();
        assertEq(pool.sweep(0), 10e18, "nobody worked");
        (uint256 share, ) = pool.claimable(0, honest);
        assertEq(share, 0, "no points");
    }

    function test_fund_rules() public {
        vm.expectRevert();
        pool.fund(0, 1); // not a depositor
        vm.prank(treasury);
        vm.expectRevert(IRewardPool.RewardPoolZeroAmount.selector);
        pool.fund(0, 0);
        _nextEpoch();
        vm.prank(treasury);
        vm.expectRevert(abi.encodeWithSelector(IRewardPool.RewardPoolPastEpoch.selector, 0, 1));
        pool.fund(0, 1);
        _fund(3, 1e18); // a future epoch is fine
        assertEq(pool.epochOf(3).pool, 1e18, "future funded");
    }

    function test_recordWork_onlyRecorder_andSnapshotsEpoch() public {
        vm.expectRevert();
        pool.recordWork(honest, 1, 1);
        _work(honest, 0, 0); // no-op
        _work(honest, 5, 1);
        _nextEpoch();
        _work(honest, 7, 2);
        assertEq(pool.workOf(0, honest).points, 5, "epoch 0");
        assertEq(pool.workOf(1, honest).points, 7, "epoch 1");
        assertEq(pool.workOf(1, honest).fees, 2, "fees");
        assertEq(pool.epochOf(1).points, 7, "total");
    }

    function test_constructor_andParams() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardPool.RewardPoolBadEpochLength.selector, 1));
        new RewardPool(admin, token, 1, WINDOW);
        vm.prank(admin);
        pool.setClaimWindowEpochs(10);
        assertEq(pool.claimWindowEpochs(), 10, "set");
        vm.prank(admin);
        vm.expectRevert();
        pool.setClaimWindowEpochs(0);
    }
}
