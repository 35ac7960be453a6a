// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "../../utils/Test.sol";
import {Invariant} from "../../utils/Invariant.sol";
import {MarketFixture} from "../MarketFixture.sol";
import {TestToken} from "../../../../contracts/token/TestToken.sol";
import {AuctionMarket} from "../../../../contracts/market/AuctionMarket.sol";
import {IAuctionMarket} from "../../../../contracts/interfaces/IAuctionMarket.sol";
import {Encodings} from "../../../../contracts/libraries/Encodings.sol";

/// @notice Drives AuctionMarket through random auctions (3 nodes, one requester = this handler).
/// Lives in the .t.sol file so the invariant runner gets its artifact.
contract AuctionHandler is Test {
    AuctionMarket public immutable market;
    TestToken public immutable token;
    bytes32 public immutable modelId;
    address[3] public bidders;

    uint256 public paidIn;
    uint256 public withdrawn;
    uint256 public jobs;
    uint256 public successes;

    constructor(AuctionMarket market_, TestToken token_, bytes32 modelId_, address[3] memory bidders_) {
        market = market_;
        token = token_;
        modelId = modelId_;
        bidders = bidders_;
        token.approve(address(market_), type(uint256).max);
    }

    function _job(uint256 seed) internal view returns (uint256) {
        return jobs == 0 ? 1 : (seed % jobs) + 1;
    }

    function post(uint256 reserve, uint32 maxTokens, bool withUri) external {
        IAuctionMarket.JobParams memory p = IAuctionMarket.JobParams({
            modelId: modelId,
            maxTokens: uint32(bound(maxTokens, 1, 1_000)),
            reservePricePerToken: uint96(bound(reserve, 1, 1e15)),
            minReputation: 0,
            commitDuration: 1 hours,
            revealDuration: 1 hours,
            deliveryDeadline: uint32(block.timestamp + 1 days)
        });
        uint256 before = token.balanceOf(address(market));
        token.faucet(address(this), 1e21);
        uint256 mine = token.balanceOf(address(this));
        if (withUri) market.postJobWithUri(p, keccak256("input"), "ipfs://x");
        else market.postJob(p, "prompt", new string[](0), 0);
        paidIn += mine - token.balanceOf(address(this));
        before;
        ++jobs;
        ++successes;
    }

    function commit(uint256 jobSeed, uint256 bidderSeed, uint256 price) external {
        uint256 jobId = _job(jobSeed);
        address bidder = bidders[bidderSeed % 3];
        price = bound(price, 0, 2e15);
        vm.prank(bidder);
        try market.commitBid(jobId, Encodings.bidCommitment(jobId, bidder, price, bytes32(price))) {
            ++successes;
        } catch {}
    }

    function reveal(uint256 jobSeed, uint256 bidderSeed, uint256 price) external {
        uint256 jobId = _job(jobSeed);
        address bidder = bidders[bidderSeed % 3];
        price = bound(price, 0, 2e15);
        vm.prank(bidder);
        try market.revealBid(jobId, price, bytes32(price)) {
            ++successes;
        } catch {}
    }

    function finalize(uint256 jobSeed) external {
        try market.finalize(_job(jobSeed)) {
            ++successes;
        } catch {}
    }

    function releaseBond(uint256 jobSeed, uint256 bidderSeed) external {
        try market.releaseBond(_job(jobSeed), bidders[bidderSeed % 3]) {
            ++successes;
        } catch {}
    }

    function deliver(uint256 jobSeed, uint32 tokens) external {
        uint256 jobId = _job(jobSeed);
        IAuctionMarket.Job memory job = market.getJob(jobId);
        vm.prank(job.best);
        try market.deliver(jobId, keccak256("out"), uint32(bound(tokens, 0, job.maxTokens))) {
            ++successes;
        } catch {}
    }

    function claimRefund(uint256 jobSeed) external {
        try market.claimRefund(_job(jobSeed)) {
            ++successes;
        } catch {}
    }

    function flagAndResolve(uint256 jobSeed, bool answer) external {
        uint256 jobId = _job(jobSeed);
        IAuctionMarket.Job memory job = market.getJob(jobId);
        vm.prank(job.best);
        try market.flagUnreachableInput(jobId) {} catch {
            return;
        }
        if (answer) return;
        vm.warp(block.timestamp + 2 hours);
        market.resolveUnreachable(jobId);
        ++successes;
    }

    function withdraw(uint256 who) external {
        address account = who % 4 == 3 ? address(this) : bidders[who % 4];
        if (market.creditOf(account) == 0) return;
        vm.prank(account);
        withdrawn += market.withdrawCredits();
    }

    function warp(uint256 secondsAhead) external {
        vm.warp(block.timestamp + bound(secondsAhead, 0, 6 hours));
    }
}

contract AuctionMarketInvariants is MarketFixture, Invariant {
    AuctionHandler internal handler;

    function setUp() public override {
        super.setUp();
        _registerNode(node1, 10_000e18);
        _registerNode(node2, 10_000e18);
        _registerNode(node3, 10_000e18);
        handler = new AuctionHandler(market, token, MODEL_A, [node1, node2, node3]);
        vm.prank(admin);
        market.setTreasury(address(handler));
        targetContract(address(handler));
    }

    /// @dev A1: tokens held == open escrow (price escrow + fee + posting bonds) + unwithdrawn credits.
    function invariant_heldEqualsEscrowPlusCredits() public view {
        (uint256 escrowed, uint256 credits) = market.totals();
        assertEq(token.balanceOf(address(market)), escrowed + credits, "held");
        uint256 sum;
        address[4] memory accounts = [node1, node2, node3, address(handler)];
        for (uint256 i; i < 4; ++i) sum += market.creditOf(accounts[i]);
        assertEq(sum, credits, "credits total");
    }

    /// @dev A2: conservation: paid in == held + withdrawn.
    function invariant_conservation() public view {
        assertEq(handler.paidIn(), token.balanceOf(address(market)) + handler.withdrawn(), "conservation");
    }

    /// @dev A3: every bond the market tracks is stake locked in Staking (no other locker here):
    /// reservation + committed bonds == locked stake of each node.
    function invariant_bondsBackedByLockedStake() public view {
        address[3] memory ns = [node1, node2, node3];
        for (uint256 i; i < 3; ++i) {
            IAuctionMarket.BondAccount memory a = market.bondAccountOf(ns[i]);
            assertEq(uint256(a.available) + a.committed, staking.lockedOf(ns[i]), "bonds == locked");
        }
    }

    /// @dev A4: a job in a final status holds no escrow: summing the price escrow of open jobs gives
    /// exactly the escrow total (so every escrowed token belongs to a job that can still reach an exit).
    function invariant_escrowBelongsToOpenJobs() public view {
        uint256 open;
        uint256 n = market.jobCount();
        for (uint256 id = 1; id <= n; ++id) {
            IAuctionMarket.Job memory job = market.getJob(id);
            if (job.status == IAuctionMarket.Status.Open || job.status == IAuctionMarket.Status.Finalized) {
                uint256 price = uint256(job.reservePricePerToken) * job.maxTokens;
                open += price + (price * job.feeBps + 9_999) / 10_000 + job.postingBond;
            }
        }
        (uint256 escrowed, ) = market.totals();
        assertEq(open, escrowed, "escrow == open jobs");
    }
}
