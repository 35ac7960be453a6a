// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "../utils/Test.sol";
import {Reputation} from "../../../contracts/libraries/Reputation.sol";
import {ReputationHarness} from "../../../contracts/test/ReputationHarness.sol";

contract ReputationTest is Test {
    uint256 internal constant H = 30 days;
    uint256 internal constant W = 100e18;
    ReputationHarness internal harness;

    function setUp() public {
        harness = new ReputationHarness();
    }

    function test_decay_zeroElapsed_unchanged() public view {
        assertEq(harness.decay(0.9e18, 0, H), 0.9e18, "unchanged");
    }

    function test_decay_neutral_staysNeutral() public view {
        assertEq(harness.decay(0.5e18, 10 * H, H), 0.5e18, "neutral");
    }

    function test_decay_oneHalfLife_halvesDistance() public view {
        assertApproxEqAbs(harness.decay(0.9e18, H, H), 0.7e18, 1, "above");
        assertApproxEqAbs(harness.decay(0.1e18, H, H), 0.3e18, 1, "below");
        assertApproxEqAbs(harness.decay(1e18, 2 * H, H), 0.625e18, 1, "two half-lives");
    }

    function test_decay_64HalfLives_exactlyNeutral() public view {
        assertEq(harness.decay(1e18, 64 * H, H), 0.5e18, "from top");
        assertEq(harness.decay(0, 1000 * H, H), 0.5e18, "from bottom");
    }

    function testFuzz_decay_monotoneTowardNeutral(uint256 value, uint256 elapsed, uint256 more) public view {
        value = bound(value, 0, 1e18);
        elapsed = bound(elapsed, 0, 100 * H);
        more = bound(more, 0, 100 * H);
        uint256 a = harness.decay(value, elapsed, H);
        uint256 b = harness.decay(value, elapsed + more, H);
        if (value >= 0.5e18) {
            assertLe(a, value, "not above start");
            assertGe(a, 0.5e18, "never crosses neutral");
            assertLe(b, a, "monotone");
        } else {
            assertGe(a, value, "not below start");
            assertLe(a, 0.5e18, "never crosses neutral");
            assertGe(b, a, "monotone");
        }
    }

    function testFuzz_decay_composes(uint256 value, uint256 t1, uint256 t2) public view {
        value = bound(value, 0, 1e18);
        t1 = bound(t1, 0, 10 * H);
        t2 = bound(t2, 0, 10 * H);
        uint256 twoSteps = harness.decay(harness.decay(value, t1, H), t2, H);
        uint256 oneStep = harness.decay(value, t1 + t2, H);
        assertApproxEqAbs(twoSteps, oneStep, 1e3, "semigroup within rounding");
    }

    function test_valueAt_uninitialized_isStart() public view {
        Reputation.State memory fresh;
        assertEq(harness.valueAt(fresh, 1e9, H), 0.4e18, "start");
    }

    function test_valueAt_clockBehind_noDecay() public view {
        Reputation.State memory state = Reputation.State({value: 0.9e18, lastUpdate: 1000, initialized: true});
        assertEq(harness.valueAt(state, 999, H), 0.9e18, "no negative elapsed");
    }

    function test_blend_equalWeight_halfway() public view {
        assertEq(harness.blend(0.4e18, 1e18, W, W), 0.7e18, "half-way");
    }

    function test_blend_zeroValue_unchanged() public view {
        assertEq(harness.blend(0.4e18, 1e18, 0, W), 0.4e18, "no weight, no move");
    }

    function test_blend_hugeValue_clampedNearScore() public view {
        uint256 r = harness.blend(0.4e18, 0, type(uint256).max, W);
        assertLe(r, 1, "essentially the score");
    }

    function test_blend_scoreAboveOne_reverts() public {
        vm.expectRevert(abi.encodeWithSelector(Reputation.ReputationScoreOutOfRange.selector, 1e18 + 1, 1e18));
        harness.blend(0.4e18, 1e18 + 1, 1, W);
    }

    function testFuzz_blend_betweenCurrentAndScore(uint256 current, uint256 score, uint256 v, uint256 w) public view {
        current = bound(current, 0, 1e18);
        score = bound(score, 0, 1e18);
        w = bound(w, 1, 1e36);
        uint256 r = harness.blend(current, score, v, w);
        uint256 lo = current < score ? current : score;
        uint256 hi = current < score ? score : current;
        assertGe(r + 1, lo, "not below the lower end (rounding 1 wei)");
        assertLe(r, hi, "not above the upper end");
    }

    function test_update_fresh_blendsFromStart() public view {
        Reputation.State memory fresh;
        Reputation.State memory next = harness.update(fresh, 1e18, W, 5_000, H, W);
        assertEq(next.value, 0.7e18, "from start");
        assertEq(next.lastUpdate, 5_000, "timestamp");
        assertTrue(next.initialized, "initialized");
    }

    function test_update_later_decaysThenBlends() public view {
        Reputation.State memory state = Reputation.State({value: 0.9e18, lastUpdate: 1_000, initialized: true});
        Reputation.State memory next = harness.update(state, 0, W, 1_000 + H, H, W);
        // decayed to 0.7, then half-way to 0.
        assertApproxEqAbs(next.value, 0.35e18, 1, "decay then blend");
    }
}
