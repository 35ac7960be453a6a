// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {MarketFixture} from "./MarketFixture.sol";
import {AuctionMarket} from "../../../contracts/market/AuctionMarket.sol";
import {IAuctionMarket} from "../../../contracts/interfaces/IAuctionMarket.sol";
import {IAuctionSettlement} from "../../../contracts/interfaces/IAuctionSettlement.sol";
import {IStaking} from "../../../contracts/interfaces/IStaking.sol";
import {IProtocolAccess} from "../../../contracts/interfaces/IProtocolAccess.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";

contract AuctionMarketTest is MarketFixture {
    uint96 internal constant RESERVE = 1e15;
    uint32 internal constant MAX_TOKENS = 100;
    uint256 internal constant PRICE_ESCROW = 1e17 + 1e15; // 100 x 1e15 plus the 1% fee
    uint256 internal constant BOND = 1e16; // 10% of reserve x maxTokens
    uint256 internal constant NODE_STAKE = 2_000e18;
    address internal constant BURN = 0x000000000000000000000000000000000000dEaD;

    function setUp() public override {
        super.setUp();
        _registerNode(node1, NODE_STAKE);
        _registerNode(node2, NODE_STAKE);
        _registerNode(node3, NODE_STAKE);
    }

    // ------------------------------------------------------------ helpers

    function _params() internal view returns (IAuctionMarket.JobParams memory) {
        return
            IAuctionMarket.JobParams({
                modelId: MODEL_A,
                maxTokens: MAX_TOKENS,
                reservePricePerToken: RESERVE,
                minReputation: 0,
                commitDuration: 1 hours,
                revealDuration: 1 hours,
                deliveryDeadline: uint32(block.timestamp + 2 hours + 1 days)
            });
    }

    function _post() internal returns (uint256 jobId) {
        vm.prank(requester);
        jobId = market.postJob(_params(), "hello", new string[](0), 0);
    }

    function _postUri() internal returns (uint256 jobId) {
        vm.prank(requester);
        jobId = market.postJobWithUri(_params(), _inputHash(), "ipfs://input");
    }

    function _inputHash() internal pure returns (bytes32) {
        return _hashInput("hello", 7);
    }

    /// @dev Encodings.hashInput for an empty stop list (the library takes calldata).
    function _hashInput(string memory prompt, uint64 seed) internal pure returns (bytes32) {
        return
            keccak256(abi.encode(Encodings.INPUT_TYPEHASH, keccak256(bytes(prompt)), MAX_TOKENS, keccak256(""), seed));
    }

    function _commit(uint256 jobId, address bidder, uint256 price) internal {
        vm.prank(bidder);
        market.commitBid(jobId, Encodings.bidCommitment(jobId, bidder, price, bytes32(uint256(uint160(bidder)))));
    }

    function _reveal(uint256 jobId, address bidder, uint256 price) internal {
        vm.prank(bidder);
        market.revealBid(jobId, price, bytes32(uint256(uint160(bidder))));
    }

    function _toReveal(uint256 jobId) internal {
        vm.warp(market.getJob(jobId).commitEnd);
    }

    function _toAwait(uint256 jobId) internal {
        vm.warp(market.getJob(jobId).revealEnd);
    }

    function _wrongPhase(
        uint256 jobId,
        IAuctionMarket.Phase cur,
        IAuctionMarket.Phase exp
    ) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAuctionMarket.AuctionWrongPhase.selector, jobId, cur, exp);
    }

    /// @dev node1 bids 5e14, node2 bids 8e14; both reveal; finalized. Winner node1 at 8e14.
    function _wonJob() internal returns (uint256 jobId) {
        jobId = _post();
        _commit(jobId, node1, 5e14);
        _commit(jobId, node2, 8e14);
        _toReveal(jobId);
        _reveal(jobId, node1, 5e14);
        _reveal(jobId, node2, 8e14);
        _toAwait(jobId);
        market.finalize(jobId);
    }

    // ------------------------------------------------------------ posting

    function test_postJob_valid_escrowsAndStoresJob() public {
        uint256 before = token.balanceOf(requester);
        uint256 jobId = _post();
        assertEq(jobId, 1, "id");
        assertEq(before - token.balanceOf(requester), PRICE_ESCROW, "escrow pulled");
        IAuctionMarket.Job memory job = market.getJob(jobId);
        assertEq(job.requester, requester, "requester");
        // A calldata job's input hash is in JobPosted (and the prompt in JobInputPosted), not stored.
        assertEq(job.inputHash, bytes32(0), "input hash not stored for a calldata job");
        assertEq(job.commitEnd, block.timestamp + 1 hours, "commitEnd");
        assertEq(uint256(market.phase(jobId)), uint256(IAuctionMarket.Phase.Commit), "phase");
        (uint256 escrowed, ) = market.totals();
        assertEq(escrowed, PRICE_ESCROW, "totals");
        assertEq(market.jobCount(), 1, "count");
    }

    function test_postJob_invalidParams_revert() public {
        IAuctionMarket.JobParams memory p = _params();
        string[] memory none = new string[](0);
        vm.startPrank(requester);
        p.maxTokens = 0;
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionInvalidJob.selector, bytes32("maxTokens"), 0));
        market.postJob(p, "x", none, 0);
        p = _params();
        p.reservePricePerToken = 0;
        vm.expectRevert(
            abi.encodeWithSelector(IAuctionMarket.AuctionInvalidJob.selector, bytes32("reservePricePerToken"), 0)
        );
        market.postJob(p, "x", none, 0);
        p = _params();
        p.minReputation = 1e18 + 1;
        vm.expectRevert(
            abi.encodeWithSelector(IAuctionMarket.AuctionInvalidJob.selector, bytes32("minReputation"), 1e18 + 1)
        );
        market.postJob(p, "x", none, 0);
        p = _params();
        p.commitDuration = 1;
        vm.expectRevert(
            abi.encodeWithSelector(IAuctionMarket.AuctionInvalidJob.selector, bytes32("commitDuration"), 1)
        );
        market.postJob(p, "x", none, 0);
        p = _params();
        p.revealDuration = 8 days;
        vm.expectRevert(
            abi.encodeWithSelector(IAuctionMarket.AuctionInvalidJob.selector, bytes32("revealDuration"), 8 days)
        );
        market.postJob(p, "x", none, 0);
        p = _params();
        p.deliveryDeadline = uint32(block.timestamp + 2 hours);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAuctionMarket.AuctionInvalidJob.selector,
                bytes32("deliveryDeadline"),
                p.deliveryDeadline
            )
        );
        market.postJob(p, "x", none, 0);
        vm.stopPrank();
    }

    function test_postJob_paused_reverts() public {
        vm.prank(admin);
        market.pause();
        IAuctionMarket.JobParams memory p = _params();
        vm.prank(requester);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        market.postJob(p, "x", new string[](0), 0);
    }

    function test_postJobWithUri_pullsPostingBond() public {
        uint256 before = token.balanceOf(requester);
        uint256 jobId = _postUri();
        assertEq(before - token.balanceOf(requester), PRICE_ESCROW + 1e18, "escrow + bond");
        assertEq(market.getJob(jobId).postingBond, 1e18, "bond stored");
    }

    // ------------------------------------------------------------ commit

    function test_commitBid_valid_locksBondFromStake() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14);
        assertEq(staking.lockedOf(node1), BOND, "locked");
        (, uint32 order, IAuctionMarket.BidStatus status) = market.bidOf(jobId, node1);
        assertEq(order, 0, "order");
        assertEq(uint256(status), uint256(IAuctionMarket.BidStatus.Committed), "status");
        IAuctionMarket.BondAccount memory a = market.bondAccountOf(node1);
        assertEq(a.committed, BOND, "committed");
    }

    function test_commitBid_fromReservation_noNewLock() public {
        vm.prank(node1);
        market.reserveBondStake(5 * BOND);
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14);
        assertEq(staking.lockedOf(node1), 5 * BOND, "lock unchanged");
        IAuctionMarket.BondAccount memory a = market.bondAccountOf(node1);
        assertEq(a.available, 4 * BOND, "available");
        assertEq(a.committed, BOND, "committed");
        // Partial reservation: the shortfall is locked.
        vm.prank(node1);
        market.releaseBondStake(4 * BOND - 1);
        uint256 job2 = _post();
        _commit(job2, node1, 5e14);
        assertEq(staking.lockedOf(node1), 2 * BOND, "shortfall locked");
    }

    function test_commitBid_wrongPhase_reverts() public {
        uint256 jobId = _post();
        _toReveal(jobId);
        vm.prank(node1);
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Reveal, IAuctionMarket.Phase.Commit));
        market.commitBid(jobId, bytes32(uint256(1)));
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionUnknownJob.selector, 99));
        market.commitBid(99, bytes32(uint256(1)));
        vm.prank(node1);
        vm.expectRevert(IAuctionMarket.AuctionZeroCommitment.selector);
        market.commitBid(jobId, bytes32(0));
    }

    function test_commitBid_ineligible_reverts() public {
        uint256 jobId = _post();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionNoCapability.selector, alice, MODEL_A));
        market.commitBid(jobId, bytes32(uint256(1)));
        IAuctionMarket.JobParams memory p = _params();
        p.minReputation = 0.5e18;
        vm.prank(requester);
        uint256 job2 = market.postJob(p, "x", new string[](0), 0);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionReputationTooLow.selector, node1, 0.4e18, 0.5e18));
        market.commitBid(job2, bytes32(uint256(1)));
        p.minReputation = 0.4e18;
        vm.prank(requester);
        uint256 job3 = market.postJob(p, "x", new string[](0), 0);
        _commit(job3, node1, 1);
    }

    function test_commitBid_twice_reverts() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14);
        vm.prank(node1);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAuctionMarket.AuctionWrongBidStatus.selector,
                jobId,
                node1,
                IAuctionMarket.BidStatus.Committed,
                IAuctionMarket.BidStatus.None
            )
        );
        market.commitBid(jobId, bytes32(uint256(2)));
    }

    function test_commitBid_notEnoughFreeStake_reverts() public {
        IAuctionMarket.JobParams memory p = _params();
        p.reservePricePerToken = 1e21; // bond = 10% x 1e21 x 100 = 1e22 > stake
        vm.prank(requester);
        uint256 jobId = market.postJob(p, "x", new string[](0), 0);
        vm.prank(node1);
        vm.expectRevert(
            abi.encodeWithSelector(IStaking.StakingInsufficientFreeStake.selector, node1, NODE_STAKE, 1e22)
        );
        market.commitBid(jobId, bytes32(uint256(1)));
    }

    // ------------------------------------------------------------ reveal and finalize

    function test_auction_lowestWinsAtSecondPrice() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 7e14);
        _commit(jobId, node2, 5e14);
        _commit(jobId, node3, 9e14);
        _toReveal(jobId);
        _reveal(jobId, node3, 9e14);
        _reveal(jobId, node1, 7e14);
        _reveal(jobId, node2, 5e14);
        _toAwait(jobId);
        assertEq(uint256(market.phase(jobId)), uint256(IAuctionMarket.Phase.AwaitingFinalize), "phase");
        vm.expectEmit(address(market));
        emit IAuctionMarket.JobFinalized(jobId, node2, 7e14);
        market.finalize(jobId);
        IAuctionMarket.Job memory job = market.getJob(jobId);
        assertEq(job.best, node2, "winner");
        assertEq(job.secondPricePlusOne, 7e14 + 1, "second");
        assertEq(uint256(market.phase(jobId)), uint256(IAuctionMarket.Phase.Delivery), "delivery");
    }

    function test_auction_aloneGetsReserve_aboveReserveCannotWin() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14);
        _commit(jobId, node2, uint256(RESERVE) + 1);
        _toReveal(jobId);
        _reveal(jobId, node1, 5e14);
        _reveal(jobId, node2, uint256(RESERVE) + 1);
        _toAwait(jobId);
        market.finalize(jobId);
        IAuctionMarket.Job memory job = market.getJob(jobId);
        assertEq(job.best, node1, "winner");
        assertEq(job.secondPricePlusOne, 0, "no second: paid the reserve");
        // The above-reserve bidder revealed: its bond comes back.
        market.releaseBond(jobId, node2);
        assertEq(market.bondAccountOf(node2).available, BOND, "released");
    }

    function test_auction_tie_earlierCommitWins() public {
        uint256 jobId = _post();
        _commit(jobId, node2, 6e14); // order 0
        _commit(jobId, node1, 6e14); // order 1
        _toReveal(jobId);
        _reveal(jobId, node1, 6e14); // reveals first but committed later
        _reveal(jobId, node2, 6e14);
        IAuctionMarket.Job memory job = market.getJob(jobId);
        assertEq(job.best, node2, "earlier commit wins the tie");
        assertEq(job.secondPricePlusOne, 6e14 + 1, "paid the tied price");
        // A later-committed tie does not displace the best.
        uint256 job2 = _post();
        _commit(job2, node1, 6e14);
        _commit(job2, node2, 6e14);
        _toReveal(job2);
        _reveal(job2, node1, 6e14);
        _reveal(job2, node2, 6e14);
        assertEq(market.getJob(job2).best, node1, "first committer keeps it");
    }

    function test_finalize_noBids_refundsEverything() public {
        uint256 jobId = _postUri();
        _toAwait(jobId);
        market.finalize(jobId);
        assertEq(market.creditOf(requester), PRICE_ESCROW + 1e18, "full refund");
        assertEq(uint256(market.phase(jobId)), uint256(IAuctionMarket.Phase.Done), "done");
    }

    function test_finalize_wrongPhase_reverts() public {
        uint256 jobId = _post();
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Commit, IAuctionMarket.Phase.AwaitingFinalize));
        market.finalize(jobId);
        _toReveal(jobId);
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Reveal, IAuctionMarket.Phase.AwaitingFinalize));
        market.finalize(jobId);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionUnknownJob.selector, 42));
        market.finalize(42);
    }

    function test_revealBid_wrongPhaseOrStatus_reverts() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14);
        vm.prank(node1);
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Commit, IAuctionMarket.Phase.Reveal));
        market.revealBid(jobId, 5e14, bytes32(uint256(uint160(node1))));
        _toReveal(jobId);
        vm.prank(node2);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAuctionMarket.AuctionWrongBidStatus.selector,
                jobId,
                node2,
                IAuctionMarket.BidStatus.None,
                IAuctionMarket.BidStatus.Committed
            )
        );
        market.revealBid(jobId, 5e14, bytes32(0));
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionCommitmentMismatch.selector, jobId, node1));
        market.revealBid(jobId, 4e14, bytes32(uint256(uint160(node1))));
        _toAwait(jobId);
        vm.prank(node1);
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.AwaitingFinalize, IAuctionMarket.Phase.Reveal));
        market.revealBid(jobId, 5e14, bytes32(uint256(uint160(node1))));
    }

    // ------------------------------------------------------------ bonds

    function test_releaseBond_loserReleased_unrevealedSlashed_winnerKept() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14);
        _commit(jobId, node2, 8e14);
        _commit(jobId, node3, 1);
        _toReveal(jobId);
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Reveal, IAuctionMarket.Phase.AwaitingFinalize));
        market.releaseBond(jobId, node2);
        _reveal(jobId, node1, 5e14);
        _reveal(jobId, node2, 8e14);
        _toAwait(jobId);
        market.releaseBond(jobId, node2);
        assertEq(market.bondAccountOf(node2).available, BOND, "loser back in reservation");
        vm.expectRevert(
            abi.encodeWithSelector(
                IAuctionMarket.AuctionWrongBidStatus.selector,
                jobId,
                node2,
                IAuctionMarket.BidStatus.Closed,
                IAuctionMarket.BidStatus.Revealed
            )
        );
        market.releaseBond(jobId, node2);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionWinnerBond.selector, jobId, node1));
        market.releaseBond(jobId, node1);
        uint256 burnedBefore = token.balanceOf(BURN);
        vm.expectEmit(address(market));
        emit IAuctionMarket.BondSlashed(jobId, node3, BOND);
        market.releaseBond(jobId, node3);
        assertEq(token.balanceOf(BURN) - burnedBefore, BOND, "burned");
        assertEq(market.creditOf(requester), 0, "requester gets none of it");
        assertEq(staking.lockedOf(node3), 0, "lock gone");
    }

    function test_reserveAndReleaseBondStake() public {
        vm.startPrank(node1);
        vm.expectRevert(IAuctionMarket.AuctionZeroAmount.selector);
        market.reserveBondStake(0);
        market.reserveBondStake(3e18);
        assertEq(staking.lockedOf(node1), 3e18, "locked");
        vm.expectRevert(
            abi.encodeWithSelector(IAuctionMarket.AuctionInsufficientBondStake.selector, node1, 3e18, 4e18)
        );
        market.releaseBondStake(4e18);
        vm.expectRevert(IAuctionMarket.AuctionZeroAmount.selector);
        market.releaseBondStake(0);
        market.releaseBondStake(3e18);
        vm.stopPrank();
        assertEq(staking.lockedOf(node1), 0, "unlocked");
    }

    // ------------------------------------------------------------ delivery and refund

    function test_deliver_paysWinnerFeeAndRefund() public {
        uint256 jobId = _wonJob();
        vm.prank(node1);
        market.deliver(jobId, keccak256("out"), 60);
        uint256 payment = 60 * 8e14;
        uint256 fee = (payment * 100 + 9_999) / 10_000;
        assertEq(market.creditOf(node1), payment, "winner");
        assertEq(market.creditOf(treasury), fee, "fee");
        assertEq(market.creditOf(requester), PRICE_ESCROW - payment - fee, "refund");
        assertEq(market.bondAccountOf(node1).available, BOND, "bond back");
        (bytes32 out, uint32 tokens) = market.deliveryOf(jobId);
        assertEq(out, keccak256("out"), "output");
        assertEq(tokens, 60, "tokens");
        (uint256 escrowed, uint256 credits) = market.totals();
        assertEq(escrowed, 0, "escrow empty");
        assertEq(credits, PRICE_ESCROW, "all credited");
        uint256 before = token.balanceOf(node1);
        vm.prank(node1);
        market.withdrawCredits();
        assertEq(token.balanceOf(node1) - before, payment, "withdrawn");
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionNoCredits.selector, node1));
        market.withdrawCredits();
    }

    function test_deliver_guards_revert() public {
        uint256 jobId = _wonJob();
        vm.prank(node2);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionNotWinner.selector, jobId, node2, node1));
        market.deliver(jobId, bytes32(0), 1);
        vm.prank(node1);
        vm.expectRevert(
            abi.encodeWithSelector(IAuctionMarket.AuctionTooManyTokens.selector, MAX_TOKENS + 1, MAX_TOKENS)
        );
        market.deliver(jobId, bytes32(0), MAX_TOKENS + 1);
    }

    function test_deadline_singleTransitionDecides() public {
        uint256 jobId = _wonJob();
        uint256 deadline = market.getJob(jobId).deliveryDeadline;
        vm.warp(deadline);
        // At the deadline second: delivery is still on time, refund is not yet possible.
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Delivery, IAuctionMarket.Phase.Expired));
        market.claimRefund(jobId);
        vm.warp(deadline + 1);
        vm.prank(node1);
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Expired, IAuctionMarket.Phase.Delivery));
        market.deliver(jobId, bytes32(0), 1);
        market.claimRefund(jobId);
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Done, IAuctionMarket.Phase.Expired));
        market.claimRefund(jobId);
    }

    function test_claimRefund_missedDeadline_refundsSlashesAndCostsReputation() public {
        uint256 jobId = _wonJob();
        vm.warp(market.getJob(jobId).deliveryDeadline + 1);
        uint256 repBefore = nodes.reputationOf(node1);
        market.claimRefund(jobId);
        assertEq(market.creditOf(requester), PRICE_ESCROW, "full refund");
        assertEq(staking.lockedOf(node1), BOND / 2, "half the bond slashed, rest still reserved");
        assertEq(market.bondAccountOf(node1).available, BOND / 2, "rest available");
        assertLt(nodes.reputationOf(node1), repBefore, "reputation fell");
    }

    function test_claimRefund_neverFinalized_winnerStillAccountable() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14);
        _toReveal(jobId);
        _reveal(jobId, node1, 5e14);
        vm.warp(market.getJob(jobId).deliveryDeadline + 1);
        assertEq(uint256(market.phase(jobId)), uint256(IAuctionMarket.Phase.Expired), "expired");
        market.claimRefund(jobId);
        assertEq(market.creditOf(requester), PRICE_ESCROW, "refund");
        // And an expired job with no bids refunds without slashing anyone.
        uint256 job2 = _post();
        vm.warp(market.getJob(job2).deliveryDeadline + 1);
        market.claimRefund(job2);
        assertEq(market.creditOf(requester), 2 * PRICE_ESCROW, "second refund");
    }

    // ------------------------------------------------------------ unreachable input

    function _wonUriJob() internal returns (uint256 jobId) {
        jobId = _postUri();
        _commit(jobId, node1, 5e14);
        _toReveal(jobId);
        _reveal(jobId, node1, 5e14);
        _toAwait(jobId);
        market.finalize(jobId);
    }

    function test_flag_requesterPostsInput_deadlineExtends() public {
        uint256 jobId = _wonUriJob();
        uint256 deadline = market.getJob(jobId).deliveryDeadline;
        vm.prank(node1);
        market.flagUnreachableInput(jobId);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionAlreadyFlagged.selector, jobId));
        market.flagUnreachableInput(jobId);
        vm.warp(block.timestamp + 30 minutes);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAuctionMarket.AuctionInputMismatch.selector,
                jobId,
                _inputHash(),
                _hashInput("hellO", 7)
            )
        );
        market.postInput(jobId, "hellO", new string[](0), 7);
        vm.prank(node2);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionNotRequester.selector, jobId, node2, requester));
        market.postInput(jobId, "hello", new string[](0), 7);
        vm.prank(requester);
        market.postInput(jobId, "hello", new string[](0), 7);
        assertEq(market.getJob(jobId).deliveryDeadline, deadline + 30 minutes, "extended");
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionAlreadyFlagged.selector, jobId));
        market.flagUnreachableInput(jobId);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionNoInputFlag.selector, jobId));
        market.resolveUnreachable(jobId);
        vm.prank(node1);
        market.deliver(jobId, keccak256("o"), 10);
        assertEq(
            market.creditOf(requester),
            PRICE_ESCROW - 10 * RESERVE - (10 * uint256(RESERVE) + 99) / 100 + 1e18,
            "bond back"
        );
    }

    function test_flag_noAnswer_postingBondToWinner() public {
        uint256 jobId = _wonUriJob();
        vm.prank(node1);
        market.flagUnreachableInput(jobId);
        // The pending flag stops the clock: no refund even past the deadline.
        vm.warp(market.getJob(jobId).deliveryDeadline + 1);
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Delivery, IAuctionMarket.Phase.Expired));
        market.claimRefund(jobId);
        vm.prank(requester);
        vm.expectRevert(
            abi.encodeWithSelector(
                IAuctionMarket.AuctionInputWindowClosed.selector,
                jobId,
                block.timestamp - 1 days - 1 + 1 hours + 0
            )
        );
        market.postInput(jobId, "hello", new string[](0), 7);
        market.resolveUnreachable(jobId);
        assertEq(market.creditOf(node1), 1e18, "posting bond to winner");
        assertEq(market.creditOf(requester), PRICE_ESCROW, "price escrow back");
        assertEq(market.bondAccountOf(node1).available, BOND, "winner bond back");
    }

    function test_flag_guards_revert() public {
        uint256 jobId = _wonJob(); // calldata input: nothing to flag
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionNoInputFlag.selector, jobId));
        market.flagUnreachableInput(jobId);
        uint256 uriJob = _wonUriJob();
        vm.prank(node2);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionNotWinner.selector, uriJob, node2, node1));
        market.flagUnreachableInput(uriJob);
        vm.prank(node1);
        market.flagUnreachableInput(uriJob);
        vm.expectRevert(
            abi.encodeWithSelector(IAuctionMarket.AuctionInputWindowOpen.selector, uriJob, block.timestamp + 1 hours)
        );
        market.resolveUnreachable(uriJob);
    }

    // ------------------------------------------------------------ parameters

    function test_setParameter_eachNameAndBounds() public {
        vm.startPrank(admin);
        market.setParameter("protocolFeeBps", 250);
        market.setParameter("bidBondBps", 2_000);
        market.setParameter("missSlashBps", 10_000);
        market.setParameter("inputWindow", 2 hours);
        market.setParameter("postingBond", 5e18);
        vm.expectRevert(
            abi.encodeWithSelector(
                IProtocolAccess.GovernanceParameterOutOfRange.selector,
                bytes32("protocolFeeBps"),
                1_001,
                0,
                1_000
            )
        );
        market.setParameter("protocolFeeBps", 1_001);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionUnknownParameter.selector, bytes32("x")));
        market.setParameter("x", 1);
        vm.expectRevert(IAuctionMarket.AuctionZeroAddress.selector);
        market.setTreasury(address(0));
        market.setTreasury(alice);
        vm.stopPrank();
        assertEq(market.treasury(), alice, "treasury");
        uint256 jobId = _post();
        IAuctionMarket.Job memory job = market.getJob(jobId);
        assertEq(job.feeBps, 250, "fee snapshot");
        assertEq(job.bidBondBps, 2_000, "bond snapshot");
    }

    function test_setParameter_notParamsRole_reverts() public {
        bytes32 role = market.PARAMS_ROLE();
        vm.prank(alice);
        vm.expectRevert(abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, alice, role));
        market.setParameter("protocolFeeBps", 1);
    }

    function test_constructor_zeroAddress_reverts() public {
        vm.expectRevert(IAuctionMarket.AuctionZeroAddress.selector);
        new AuctionMarket(admin, token, staking, nodes, address(0));
    }

    // ------------------------------------------------------------ adversarial

    function test_copiedCommitment_otherBidderCannotReveal() public {
        uint256 jobId = _post();
        bytes32 salt = keccak256("s");
        bytes32 c = Encodings.bidCommitment(jobId, node1, 5e14, salt);
        vm.prank(node1);
        market.commitBid(jobId, c);
        vm.prank(node2);
        market.commitBid(jobId, c); // copied from the mempool
        _toReveal(jobId);
        vm.prank(node1);
        market.revealBid(jobId, 5e14, salt);
        // Even knowing the opening (now public), node2 cannot reveal: the bidder is hashed in.
        vm.prank(node2);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionCommitmentMismatch.selector, jobId, node2));
        market.revealBid(jobId, 5e14, salt);
        _toAwait(jobId);
        market.releaseBond(jobId, node2);
        assertEq(staking.lockedOf(node2), 0, "copier's bond burned");
    }

    function test_commitmentReplayedOnAnotherJob_cannotReveal() public {
        uint256 job1 = _post();
        uint256 job2 = _post();
        bytes32 salt = keccak256("s");
        vm.startPrank(node1);
        market.commitBid(job1, Encodings.bidCommitment(job1, node1, 5e14, salt));
        market.commitBid(job2, Encodings.bidCommitment(job1, node1, 5e14, salt));
        vm.stopPrank();
        _toReveal(job2);
        vm.prank(node1);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionCommitmentMismatch.selector, job2, node1));
        market.revealBid(job2, 5e14, salt);
    }

    function test_frontRunReveal_attackerGainsNothing() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14);
        _commit(jobId, node2, 9e14);
        _toReveal(jobId);
        // node2 sees node1's reveal (price, salt) pending and front-runs with it: rejected.
        vm.prank(node2);
        vm.expectRevert(abi.encodeWithSelector(IAuctionMarket.AuctionCommitmentMismatch.selector, jobId, node2));
        market.revealBid(jobId, 5e14, bytes32(uint256(uint160(node1))));
        // Nor can it commit a new, lower bid: the commit phase is over.
        vm.prank(node2);
        vm.expectRevert(_wrongPhase(jobId, IAuctionMarket.Phase.Reveal, IAuctionMarket.Phase.Commit));
        market.commitBid(jobId, bytes32(uint256(1)));
        _reveal(jobId, node1, 5e14);
        _reveal(jobId, node2, 9e14);
        assertEq(market.getJob(jobId).best, node1, "honest winner");
    }

    /// @dev The requester runs its own node (node3) as a shill. Below the honest bid it wins and must
    /// deliver itself (or pay the miss penalty, burned): it gets no cheaper service. Between the honest
    /// bid and the reserve it lowers the honest winner's payment only down to the honest winner's own
    /// bid (truthful bidding still never loses money), at the cost of a locked bond and the risk of
    /// winning; unrevealed, its bond is burned, never refunded to the requester.
    function test_requesterShill_cannotGainBeyondBids() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14); // honest cost
        _commit(jobId, node3, 5e14 + 1); // shill just above
        _toReveal(jobId);
        _reveal(jobId, node1, 5e14);
        _reveal(jobId, node3, 5e14 + 1);
        _toAwait(jobId);
        market.finalize(jobId);
        (address w, uint256 price) = (market.getJob(jobId).best, uint256(market.getJob(jobId).secondPricePlusOne) - 1);
        assertEq(w, node1, "honest node wins");
        assertGe(price, 5e14, "never paid below its own bid");

        uint256 job2 = _post();
        _commit(job2, node1, 5e14);
        _commit(job2, node3, 1); // shill undercuts
        _toReveal(job2);
        _reveal(job2, node1, 5e14);
        _reveal(job2, node3, 1);
        _toAwait(job2);
        market.finalize(job2);
        assertEq(market.getJob(job2).best, node3, "shill wins and owes delivery");
        vm.warp(market.getJob(job2).deliveryDeadline + 1);
        uint256 burnedBefore = token.balanceOf(BURN);
        market.claimRefund(job2);
        assertEq(token.balanceOf(BURN) - burnedBefore, BOND / 2, "penalty burned, not refunded");
    }

    function test_pause_inFlightAuctionsComplete() public {
        uint256 jobId = _post();
        _commit(jobId, node1, 5e14);
        vm.prank(admin);
        market.pause();
        _toReveal(jobId);
        _reveal(jobId, node1, 5e14);
        _toAwait(jobId);
        market.finalize(jobId);
        vm.prank(node1);
        market.deliver(jobId, bytes32(0), 1);
        vm.prank(node1);
        market.withdrawCredits();
        vm.prank(node2);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        market.reserveBondStake(1);
    }

    // ---------------------------------------------------------------- settlement hooks (issue 4)

    function test_collectJob_heldUntilSettlement_paysCappedAndRefundsRest() public {
        address settler = makeAddr("settler");
        vm.prank(admin);
        market.setSettlement(settler);
        uint256 jobId = _wonJob();
        vm.prank(node1);
        market.deliver(jobId, keccak256("out"), 60);
        uint256 payment = 60 * 8e14;
        assertEq(market.creditOf(node1), 0, "not paid at delivery");
        assertEq(market.heldOf(jobId), payment, "held");
        vm.expectRevert(abi.encodeWithSelector(IAuctionSettlement.AuctionNotSettlement.selector, address(this)));
        market.collectJob(jobId, node1, keccak256("out"), payment);
        vm.startPrank(settler);
        assertEq(market.collectJob(jobId, node2, keccak256("out"), payment), 0, "not the winner");
        assertEq(market.collectJob(jobId, node1, keccak256("other"), payment), 0, "not the delivered output");
        uint256 refundBefore = market.creditOf(requester);
        assertEq(market.collectJob(jobId, node1, keccak256("out"), payment - 1e14), payment - 1e14, "capped");
        assertEq(market.creditOf(requester) - refundBefore, 1e14, "rest refunded");
        assertEq(market.collectJob(jobId, node1, keccak256("out"), payment), 0, "paid once");
        vm.stopPrank();
        assertEq(market.creditOf(settler), payment - 1e14, "credited to the settlement");
        (uint256 escrowed, ) = market.totals();
        assertEq(escrowed, 0, "nothing left escrowed");
    }

    function test_claimUnsettled_refundsAfterTimeout() public {
        vm.startPrank(admin);
        market.setSettlement(makeAddr("settler"));
        market.setParameter("settleTimeout", 1 hours);
        vm.stopPrank();
        uint256 jobId = _wonJob();
        vm.prank(node1);
        market.deliver(jobId, keccak256("out"), 60);
        uint256 held = market.heldOf(jobId);
        uint256 at = uint256(market.getJob(jobId).deliveryDeadline) + 1 hours;
        vm.expectRevert(abi.encodeWithSelector(IAuctionSettlement.AuctionNotUnsettled.selector, jobId, held, at));
        market.claimUnsettled(jobId);
        vm.warp(at + 1);
        uint256 before = market.creditOf(requester);
        market.claimUnsettled(jobId);
        assertEq(market.creditOf(requester) - before, held, "refunded");
        assertEq(market.heldOf(jobId), 0, "nothing held");
        vm.expectRevert();
        market.claimUnsettled(jobId);
    }

    function test_setSettlement_onlyAdmin() public {
        vm.expectRevert();
        market.setSettlement(address(1));
        vm.prank(admin);
        market.setSettlement(address(1));
        assertEq(market.settlement(), address(1), "set");
    }
}
