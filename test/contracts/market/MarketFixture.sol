// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {CoreFixture} from "../helpers/CoreFixture.sol";
import {PairEscrow} from "../../../contracts/market/PairEscrow.sol";
import {AuctionMarket} from "../../../contracts/market/AuctionMarket.sol";
import {IPairEscrow} from "../../../contracts/interfaces/IPairEscrow.sol";
import {IAuctionMarket} from "../../../contracts/interfaces/IAuctionMarket.sol";
import {INodeRegistry} from "../../../contracts/interfaces/INodeRegistry.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";

/// @notice CoreFixture plus PairEscrow and AuctionMarket, roles granted, and signing helpers.
abstract contract MarketFixture is CoreFixture {
    uint256 internal constant THAW_SECONDS = 10 days;
    uint256 internal constant LIFETIME_SECONDS = 1 days;
    uint256 internal constant LAG_SECONDS = 1 hours;
    uint256 internal constant CHALLENGE_SECONDS = 1 days;
    uint256 internal constant DISPUTE_SECONDS = 3 days;
    uint256 internal constant GRACE_SECONDS = 1 days;

    uint256 internal constant REQUESTER_KEY = 0xA11CE;
    uint256 internal constant OTHER_KEY = 0xB0B;

    PairEscrow internal escrow;
    AuctionMarket internal market;
    address internal settler;
    address internal treasury;
    address internal requester;
    address internal node1;
    address internal node2;
    address internal node3;

    function setUp() public virtual override {
        super.setUp();
        settler = makeAddr("settler");
        treasury = makeAddr("treasury");
        requester = vm.addr(REQUESTER_KEY);
        node1 = makeAddr("node1");
        node2 = makeAddr("node2");
        node3 = makeAddr("node3");

        vm.startPrank(admin);
        escrow = new PairEscrow(admin, token, _timing());
        escrow.grantRole(escrow.SETTLER_ROLE(), settler);
        market = new AuctionMarket(admin, token, staking, nodes, treasury);
        staking.grantRole(staking.LOCKER_ROLE(), address(market));
        staking.grantRole(staking.SLASHER_ROLE(), address(market));
        nodes.grantRole(nodes.REPUTATION_ROLE(), address(market));
        vm.stopPrank();

        _fundFor(requester, 1_000_000e18, address(escrow));
        vm.prank(requester);
        token.approve(address(market), type(uint256).max);
    }

    function _timing() internal pure returns (IPairEscrow.Timing memory) {
        return
            IPairEscrow.Timing({
                thawPeriod: THAW_SECONDS,
                ticketMaxLifetime: LIFETIME_SECONDS,
                batchCommitLag: LAG_SECONDS,
                challengeWindow: CHALLENGE_SECONDS,
                disputeTime: DISPUTE_SECONDS,
                grace: GRACE_SECONDS
            });
    }

    function _fundFor(address account, uint256 amount, address spender) internal {
        while (amount > 0) {
            uint256 drip = amount > token.MAX_FAUCET_AMOUNT() ? token.MAX_FAUCET_AMOUNT() : amount;
            token.faucet(account, drip);
            amount -= drip;
        }
        vm.prank(account);
        token.approve(spender, type(uint256).max);
    }

    function _deposit(address from, address node, uint256 amount) internal {
        vm.prank(from);
        escrow.deposit(node, amount);
    }

    // ------------------------------------------------------------ signing

    function _sig(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _ticket(
        address node,
        uint64 sequence,
        uint32 maxTokens,
        uint256 price
    ) internal view returns (Encodings.Ticket memory) {
        return
            Encodings.Ticket({
                requester: requester,
                node: node,
                model: MODEL_A,
                adapter: bytes32(0),
                input: keccak256(abi.encode("input", sequence)),
                maxTokens: maxTokens,
                pricePerToken: price,
                sequence: sequence,
                expiry: uint64(block.timestamp + 1 hours),
                profile: keccak256("profile")
            });
    }

    function _voucher(
        address node,
        uint256 cumulative,
        uint64 through
    ) internal view returns (Encodings.Voucher memory) {
        return
            Encodings.Voucher({
                requester: requester,
                node: node,
                cumulativeAmount: cumulative,
                throughSequence: through
            });
    }

    function _signTicket(uint256 key, Encodings.Ticket memory t) internal view returns (bytes memory) {
        return _sig(key, escrow.ticketId(t));
    }

    function _signVoucher(uint256 key, Encodings.Voucher memory v) internal view returns (bytes memory) {
        return _sig(key, escrow.voucherDigest(v));
    }

    // ------------------------------------------------------------ nodes

    function _capabilities() internal pure returns (INodeRegistry.Capability[] memory caps) {
        caps = new INodeRegistry.Capability[](1);
        caps[0] = INodeRegistry.Capability({
            modelId: MODEL_A,
            quantization: Q8_0,
            maxBatch: 4,
            maxTokens: 4096,
            latencySlaMs: 500,
            pricePerToken: 1e12
        });
    }

    /// @dev Stakes `stakeAmount` for `node` and registers it with a MODEL_A capability.
    function _registerNode(address node, uint256 stakeAmount) internal {
        _stake(node, stakeAmount);
        vm.prank(node);
        nodes.register("http://node.local", node, _capabilities());
    }
}
