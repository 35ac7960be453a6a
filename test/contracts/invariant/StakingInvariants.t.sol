// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {CoreFixture} from "../helpers/CoreFixture.sol";
import {Invariant} from "../utils/Invariant.sol";
import {Test} from "../utils/Test.sol";
import {Staking} from "../../../contracts/Staking.sol";
import {TestToken} from "../../../contracts/token/TestToken.sol";

/// @notice Drives Staking with bounded random actions of four actors and keeps ghost accounting.
/// Lives in this .t.sol file: Hardhat emits artifacts only for test roots, and the invariant runner
/// needs the handler's artifact to fuzz it.
contract StakingHandler is Test {
    Staking public immutable staking;
    TestToken public immutable token;
    address public immutable locker;
    address public immutable slasher;
    bytes32 public immutable modelA;
    bytes32 public immutable modelB;

    address[4] internal _actors;

    uint256 public calls;
    uint256 public successfulCalls;
    uint256 public earlyWithdrawals;
    uint256 public overSlashes;

    mapping(address actor => uint256 amount) public deposited;
    mapping(address actor => uint256 amount) public withdrawnUnbonded;
    mapping(address actor => uint256 amount) public slashedFrom;
    mapping(address actor => uint256 amount) public credited;
    mapping(address actor => uint256 amount) public withdrawnCredits;
    mapping(address actor => uint256 timestamp) public lastRequestAt;
    mapping(address actor => uint256 seconds_) public periodAtRequest;

    constructor(Staking staking_, TestToken token_, address locker_, address slasher_, bytes32 a, bytes32 b) {
        staking = staking_;
        token = token_;
        locker = locker_;
        slasher = slasher_;
        modelA = a;
        modelB = b;
        for (uint256 i; i < 4; ++i) _actors[i] = address(uint160(0xA000 + i));
    }

    function actors() external view returns (address[4] memory) {
        return _actors;
    }

    function _actor(uint256 seed) internal view returns (address) {
        return _actors[seed % 4];
    }

    function _count(bool ok) internal {
        ++calls;
        if (ok) ++successfulCalls;
    }

    function stake(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        amount = bound(amount, 1, 1_000e18);
        token.faucet(actor, amount);
        vm.prank(actor);
        token.approve(address(staking), amount);
        vm.prank(actor);
        staking.stake(amount);
        deposited[actor] += amount;
        _count(true);
    }

    function requestUnstake(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        (uint256 free, , , ) = staking.stakeOf(actor);
        if (free == 0) return _count(false);
        amount = bound(amount, 1, free);
        vm.prank(actor);
        (bool ok, ) = address(staking).call(abi.encodeCall(Staking.requestUnstake, (amount)));
        if (ok) {
            lastRequestAt[actor] = block.timestamp;
            periodAtRequest[actor] = staking.unbondingPeriod();
        }
        _count(ok);
    }

    function withdrawUnbonded(uint256 actorSeed) external {
        address actor = _actor(actorSeed);
        vm.prank(actor);
        (bool ok, bytes memory ret) = address(staking).call(abi.encodeCall(Staking.withdrawUnbonded, ()));
        if (ok) {
            withdrawnUnbonded[actor] += abi.decode(ret, (uint256));
            if (block.timestamp < lastRequestAt[actor] + periodAtRequest[actor]) ++earlyWithdrawals;
        }
        _count(ok);
    }

    function lock(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        (uint256 free, , , ) = staking.stakeOf(actor);
        amount = bound(amount, 0, free);
        vm.prank(locker);
        staking.lock(actor, amount);
        _count(true);
    }

    function unlock(uint256 actorSeed, uint256 amount) external {
        address actor = _actor(actorSeed);
        amount = bound(amount, 0, 2_000e18);
        vm.prank(locker);
        staking.unlock(actor, amount);
        _count(true);
    }

    function slash(uint256 actorSeed, uint256 amount, uint256 beneficiarySeed, uint256 bps) external {
        address actor = _actor(actorSeed);
        (uint256 free, uint256 locked, uint256 unbonding, ) = staking.stakeOf(actor);
        uint256 before = free + locked + unbonding;
        amount = bound(amount, 0, before + 100e18);
        bps = bound(bps, 0, 10_000);
        address[] memory beneficiaries = new address[](1);
        uint256[] memory shares = new uint256[](1);
        beneficiaries[0] = _actor(beneficiarySeed);
        shares[0] = bps;
        vm.prank(slasher);
        uint256 slashed = staking.slash(actor, amount, beneficiaries, shares);
        if (slashed > before || slashed > amount) ++overSlashes;
        slashedFrom[actor] += slashed;
        credited[beneficiaries[0]] += (slashed * bps) / 10_000;
        _count(true);
    }

    function withdrawCredits(uint256 actorSeed) external {
        address actor = _actor(actorSeed);
        vm.prank(actor);
        (bool ok, bytes memory ret) = address(staking).call(abi.encodeCall(Staking.withdrawCredits, ()));
        if (ok) withdrawnCredits[actor] += abi.decode(ret, (uint256));
        _count(ok);
    }

    function declare(uint256 actorSeed, bool useB) external {
        address actor = _actor(actorSeed);
        bytes32[] memory ids = new bytes32[](1);
        ids[0] = useB ? modelB : modelA;
        vm.prank(actor);
        (bool ok, ) = address(staking).call(abi.encodeCall(Staking.declareValidator, (ids)));
        _count(ok);
    }

    function undeclare(uint256 actorSeed, bool useB) external {
        address actor = _actor(actorSeed);
        vm.prank(actor);
        (bool ok, ) = address(staking).call(abi.encodeCall(Staking.undeclareModel, (useB ? modelB : modelA)));
        _count(ok);
    }

    function warp(uint256 secondsForward) external {
        secondsForward = bound(secondsForward, 0, 10 days);
        vm.warp(block.timestamp + secondsForward);
        _count(true);
    }
}

/// @notice Staking invariants under random stake / unstake / withdraw / lock / unlock / slash /
/// credit / validator actions by four actors. See test/contracts/PROPERTIES.md.
contract StakingInvariantsTest is CoreFixture, Invariant {
    address internal constant BURN = 0x000000000000000000000000000000000000dEaD;
    StakingHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new StakingHandler(staking, token, locker, slasher, MODEL_A, MODEL_B);
        bytes4[] memory selectors = new bytes4[](10);
        selectors[0] = StakingHandler.stake.selector;
        selectors[1] = StakingHandler.requestUnstake.selector;
        selectors[2] = StakingHandler.withdrawUnbonded.selector;
        selectors[3] = StakingHandler.lock.selector;
        selectors[4] = StakingHandler.unlock.selector;
        selectors[5] = StakingHandler.slash.selector;
        selectors[6] = StakingHandler.withdrawCredits.selector;
        selectors[7] = StakingHandler.declare.selector;
        selectors[8] = StakingHandler.undeclare.selector;
        selectors[9] = StakingHandler.warp.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// Token conservation: the contract holds exactly the staked buckets plus the credits.
    function invariant_balanceEqualsStakePlusCredits() public view {
        address[4] memory actors = handler.actors();
        uint256 buckets;
        uint256 credits;
        for (uint256 i; i < 4; ++i) {
            (uint256 free, uint256 locked, uint256 unbonding, ) = staking.stakeOf(actors[i]);
            buckets += free + locked + unbonding;
            credits += staking.creditOf(actors[i]);
        }
        assertEq(staking.totalStaked(), buckets, "totalStaked == sum of buckets");
        assertEq(staking.totalCredits(), credits, "totalCredits == sum of credits");
        assertEq(token.balanceOf(address(staking)), buckets + credits, "balance == stake + credits");
    }

    /// Per actor: stake in + nothing else = stake held + withdrawn + slashed; credits out <= credits in.
    function invariant_nobodyWithdrawsMoreThanPutIn() public view {
        address[4] memory actors = handler.actors();
        for (uint256 i; i < 4; ++i) {
            address a = actors[i];
            (uint256 free, uint256 locked, uint256 unbonding, ) = staking.stakeOf(a);
            assertEq(
                free + locked + unbonding + handler.withdrawnUnbonded(a) + handler.slashedFrom(a),
                handler.deposited(a),
                "stake ledger per actor"
            );
            assertEq(staking.creditOf(a) + handler.withdrawnCredits(a), handler.credited(a), "credit ledger per actor");
            assertLe(handler.withdrawnUnbonded(a), handler.deposited(a), "withdrawn <= deposited");
        }
    }

    /// Burned tokens are exactly what slashes did not credit.
    function invariant_burnedIsSlashedMinusCredited() public view {
        address[4] memory actors = handler.actors();
        uint256 slashed;
        uint256 credited;
        for (uint256 i; i < 4; ++i) {
            slashed += handler.slashedFrom(actors[i]);
            credited += handler.credited(actors[i]);
        }
        assertEq(token.balanceOf(BURN), slashed - credited, "burn balance");
        assertEq(staking.totalBurned(), slashed - credited, "totalBurned");
    }

    /// Unbonding cannot be skipped, and a slash never takes more than asked or held.
    function invariant_noEarlyWithdrawalNoOverSlash() public view {
        assertEq(handler.earlyWithdrawals(), 0, "withdrawal before release");
        assertEq(handler.overSlashes(), 0, "slash above stake or request");
    }

    /// Each sortition tree's total equals the sum of its members' weights, and each weight is the
    /// validator's active stake (or 0 below the minimum, or when undeclared).
    function invariant_treeTotalsMatchWeights() public view {
        address[4] memory actors = handler.actors();
        bytes32[2] memory ids = [MODEL_A, MODEL_B];
        for (uint256 m; m < 2; ++m) {
            uint256 sum;
            for (uint256 i; i < 4; ++i) {
                uint256 weight = staking.validatorWeight(ids[m], actors[i]);
                sum += weight;
                uint256 active = staking.activeStakeOf(actors[i]);
                uint256 expected =
                    staking.isValidatorFor(actors[i], ids[m]) && active >= MIN_VALIDATOR_STAKE ? active : 0;
                assertEq(weight, expected, "weight == active stake");
            }
            assertEq(staking.totalValidatorWeight(ids[m]), sum, "tree total == sum of weights");
            if (sum > 0) assertTrue(staking.drawValidator(ids[m], sum - 1) != address(0), "draw finds a member");
        }
    }

    /// The suite is not vacuous: every run made handler calls, most of which succeeded.
    function afterInvariant() public view {
        assertGt(handler.calls(), 0, "handler was called");
        assertGt(handler.successfulCalls(), 0, "some calls succeeded");
    }
}
