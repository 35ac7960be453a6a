// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {CoreFixture} from "../helpers/CoreFixture.sol";
import {INodeRegistry} from "../../../contracts/interfaces/INodeRegistry.sol";
import {IPairEscrow} from "../../../contracts/interfaces/IPairEscrow.sol";
import {IBatchSettlement} from "../../../contracts/interfaces/IBatchSettlement.sol";
import {IChallengeGame} from "../../../contracts/interfaces/IChallengeGame.sol";
import {ISettlementEscrow} from "../../../contracts/interfaces/ISettlementEscrow.sol";
import {PairEscrow} from "../../../contracts/market/PairEscrow.sol";
import {BatchSettlement} from "../../../contracts/settlement/BatchSettlement.sol";
import {ChallengeGame} from "../../../contracts/settlement/ChallengeGame.sol";
import {TestDisputeResolver} from "../../../contracts/test/TestDisputeResolver.sol";
import {EncodingsHarness} from "../../../contracts/test/EncodingsHarness.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";
import {PositionalMerkle} from "../../../contracts/libraries/PositionalMerkle.sol";
import {ProofBuilder} from "../utils/ProofBuilder.sol";

/// @notice The core plus escrow, batch settlement, challenge game and a test resolver, wired as
/// scripts/lib/deployProtocol.ts wires them; helpers to build leaves, trees and signatures.
abstract contract SettlementFixture is CoreFixture {
    uint256 internal constant NODE_KEY = 0xA11CE;
    uint256 internal constant REQUESTER_KEY = 0xCA401;
    uint256 internal constant REQUESTER2_KEY = 0xCA402;
    uint256 internal constant CHALLENGE_WINDOW = 600;
    uint256 internal constant REVEAL_PERIOD = 120;
    uint256 internal constant RESPONSE_WINDOW = 300;
    uint256 internal constant BOND = 5e18;
    uint256 internal constant PRICE = 1e15;
    uint256 internal constant FEE_BPS = 200;
    uint256 internal constant SHARE_BPS = 1_000;
    uint256 internal constant COMMITTEE_BPS = 2_000;
    bytes32 internal constant PROFILE = keccak256("profile");

    PairEscrow internal escrow;
    BatchSettlement internal settlement;
    ChallengeGame internal game;
    TestDisputeResolver internal resolver;
    EncodingsHarness internal enc;
    address internal treasury;
    address internal node;
    address internal requester;
    address internal requester2;
    address internal validator;

    function setUp() public virtual override {
        super.setUp();
        enc = new EncodingsHarness();
        treasury = makeAddr("treasury");
        node = vm.addr(NODE_KEY);
        requester = vm.addr(REQUESTER_KEY);
        requester2 = vm.addr(REQUESTER2_KEY);
        validator = makeAddr("validator");
        vm.label(node, "node");
        vm.label(requester, "requester");

        vm.startPrank(admin);
        escrow = new PairEscrow(
            admin,
            token,
            IPairEscrow.Timing({
                thawPeriod: 3 days,
                ticketMaxLifetime: 1 days,
                batchCommitLag: 1 hours,
                challengeWindow: CHALLENGE_WINDOW + REVEAL_PERIOD,
                disputeTime: 1 days,
                grace: 1 hours
            })
        );
        settlement = new BatchSettlement(
            admin,
            token,
            staking,
            nodes,
            models,
            ISettlementEscrow(address(escrow)),
            treasury,
            IBatchSettlement.Params({
                lockFactorBps: 20_000,
                challengeWindow: CHALLENGE_WINDOW,
                revealPeriod: REVEAL_PERIOD,
                protocolFeeBps: FEE_BPS,
                challengerShareBps: SHARE_BPS,
                slashFactorBps: 10_000,
                minSlash: 10e18,
                batchCommitLag: 1 hours
            })
        );
        game = new ChallengeGame(
            admin,
            token,
            settlement,
            staking,
            nodes,
            ISettlementEscrow(address(escrow)),
            BOND,
            RESPONSE_WINDOW,
            COMMITTEE_BPS
        );
        resolver = new TestDisputeResolver(game);
        game.setResolver(resolver);
        staking.grantRole(staking.LOCKER_ROLE(), address(settlement));
        staking.grantRole(staking.SLASHER_ROLE(), address(settlement));
        nodes.grantRole(nodes.REPUTATION_ROLE(), address(settlement));
        settlement.grantRole(settlement.CHALLENGE_ROLE(), address(game));
        game.grantRole(game.RESOLVER_ROLE(), address(resolver));
        escrow.grantRole(escrow.SETTLER_ROLE(), address(settlement));
        vm.stopPrank();

        // The node: staked and registered for MODEL_A.
        _stake(node, 10_000e18);
        INodeRegistry.Capability[] memory caps = new INodeRegistry.Capability[](1);
        caps[0] = INodeRegistry.Capability({
            modelId: MODEL_A,
            quantization: Q8_0,
            maxBatch: 4,
            maxTokens: 512,
            latencySlaMs: 500,
            pricePerToken: uint128(PRICE)
        });
        vm.prank(node);
        nodes.register("http://127.0.0.1:8700", node, caps);

        // The validator: staked and funded for bonds.
        _stake(validator, 1_000e18);
        token.faucet(validator, 1_000e18);
        vm.prank(validator);
        token.approve(address(game), type(uint256).max);

        // The requesters: escrow for the node.
        for (uint256 k = 0; k < 2; ++k) {
            address r = k == 0 ? requester : requester2;
            token.faucet(r, 1_000e18);
            vm.startPrank(r);
            token.approve(address(escrow), type(uint256).max);
            escrow.deposit(node, 100e18);
            vm.stopPrank();
        }
    }

    // ------------------------------------------------------------------ leaves and trees

    function _prompt(uint256 i) internal pure returns (string memory) {
        return string.concat("prompt ", _itoa(i));
    }

    function _tokens(uint256 i) internal pure returns (uint32[] memory t) {
        t = new uint32[](4 + (i % 3));
        for (uint256 k = 0; k < t.length; ++k) t[k] = uint32(100 + i * 7 + k);
    }

    function _itoa(uint256 v) internal pure returns (string memory) {
        if (v == 0) return "0";
        bytes memory b;
        while (v != 0) {
            b = abi.encodePacked(bytes1(uint8(48 + (v % 10))), b);
            v /= 10;
        }
        return string(b);
    }

    function _data(uint256 i) internal pure returns (IChallengeGame.LeafData memory d) {
        d.prompt = _prompt(i);
        d.stop = new string[](0);
        d.seed = 0;
        d.maxTokens = 64;
        d.tokens = _tokens(i);
    }

    /// @dev A ticket for leaf i, signed by `key`'s requester.
    function _ticket(uint256 i, address who) internal view returns (Encodings.Ticket memory t) {
        IChallengeGame.LeafData memory d = _data(i);
        t = Encodings.Ticket({
            requester: who,
            node: node,
            model: MODEL_A,
            adapter: bytes32(0),
            input: enc.hashInput(d.prompt, d.maxTokens, d.stop, d.seed),
            maxTokens: 64,
            pricePerToken: PRICE,
            sequence: uint64(i + 1),
            expiry: uint64(block.timestamp + 1 hours),
            profile: PROFILE
        });
    }

    function _leafFor(uint256 i, address who) internal view returns (Encodings.Leaf memory l) {
        Encodings.Ticket memory t = _ticket(i, who);
        IChallengeGame.LeafData memory d = _data(i);
        l = Encodings.Leaf({
            index: uint32(i),
            kind: Encodings.LEAF_TICKET,
            ref: escrow.ticketId(t),
            requester: who,
            model: MODEL_A,
            adapter: bytes32(0),
            input: t.input,
            output: enc.hashOutput(PROFILE, d.tokens),
            tokens: uint32(d.tokens.length),
            amount: d.tokens.length * PRICE,
            expiry: t.expiry,
            profile: PROFILE
        });
    }

    /// @dev `n` ticket leaves; the first `split` belong to `requester`, the rest to `requester2`.
    function _leaves(uint256 n, uint256 split) internal view returns (Encodings.Leaf[] memory ls) {
        ls = new Encodings.Leaf[](n);
        for (uint256 i = 0; i < n; ++i) ls[i] = _leafFor(i, i < split ? requester : requester2);
    }

    function _hashes(Encodings.Leaf[] memory ls) internal view returns (bytes32[] memory hs) {
        hs = new bytes32[](ls.length);
        for (uint256 i = 0; i < ls.length; ++i) hs[i] = enc.hashLeaf(ls[i]);
    }

    function _root(Encodings.Leaf[] memory ls) internal view returns (bytes32) {
        return PositionalMerkle.rootOf(_hashes(ls));
    }

    function _proof(Encodings.Leaf[] memory ls, uint256 idx) internal view returns (bytes32[] memory) {
        return ProofBuilder.proofOf(_hashes(ls), idx);
    }

    function _payout(Encodings.Leaf[] memory ls) internal pure returns (uint128 total) {
        for (uint256 i = 0; i < ls.length; ++i) total += uint128(ls[i].amount);
    }

    /// @dev Commits `ls` as a batch from the node and returns its id and header.
    function _commit(
        Encodings.Leaf[] memory ls
    ) internal returns (uint256 batchId, IBatchSettlement.BatchHeader memory h) {
        uint128 payout = _payout(ls);
        bytes32 root = _root(ls);
        vm.prank(node);
        batchId = settlement.commitBatch(root, uint32(ls.length), payout);
        h = IBatchSettlement.BatchHeader({
            node: node,
            leafCount: uint32(ls.length),
            committedAt: uint64(block.timestamp),
            payout: payout,
            lock: uint128((uint256(payout) * 20_000) / 10_000),
            root: root
        });
    }

    // ------------------------------------------------------------------ challenges

    /// @dev The challenge id of each leaf challenged through `_challenge`.
    mapping(uint256 batchId => mapping(uint32 leafIndex => uint256 id)) internal chId;
    uint96 internal _nextSlot = 1;

    /// @dev Funds `who`'s slot with one bond (minting and approving as needed).
    function _fundSlot(address who, uint96 slot) internal {
        token.faucet(who, BOND);
        vm.prank(who);
        token.approve(address(game), type(uint256).max);
        vm.prank(who);
        game.fundSlot(slot, BOND);
    }

    /// @dev Commits and reveals a challenge of leaf `leafIndex` by `validator` from a fresh slot.
    function _challenge(
        uint256 batchId,
        IBatchSettlement.BatchHeader memory h,
        uint32 leafIndex,
        uint8 kind
    ) internal returns (uint256 id) {
        uint96 slot = _nextSlot++;
        id = game.challengeIdOf(validator, slot);
        bytes32 salt = keccak256(abi.encode(batchId, leafIndex, kind));
        bytes32 commitment = Encodings.challengeCommitment(batchId, leafIndex, kind, validator, salt);
        _fundSlot(validator, slot);
        vm.prank(validator);
        game.commitChallenge(slot, commitment);
        vm.prank(validator);
        game.revealChallenge(slot, batchId, h, leafIndex, kind, salt);
        chId[batchId][leafIndex] = id;
    }

    // ------------------------------------------------------------------ signatures

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    function _voucher(
        address who,
        uint256 cumulative,
        uint64 through
    ) internal pure returns (Encodings.Voucher memory) {
        return
            Encodings.Voucher({
                requester: who,
                node: vm.addr(NODE_KEY),
                cumulativeAmount: cumulative,
                throughSequence: through
            });
    }

    function _signVoucher(uint256 key, Encodings.Voucher memory v) internal view returns (bytes memory) {
        return _sign(key, escrow.voucherDigest(v));
    }

    function _signTicket(uint256 key, Encodings.Ticket memory t) internal view returns (bytes memory) {
        return _sign(key, escrow.ticketId(t));
    }

    function _signReceipt(uint256 key, Encodings.Receipt memory r) internal view returns (bytes memory) {
        return _sign(key, game.receiptDigest(r));
    }

    function _typedDigest(bytes32 domainSeparator, bytes32 structHash) internal pure returns (bytes32) {
        return MessageHashUtils.toTypedDataHash(domainSeparator, structHash);
    }
}
