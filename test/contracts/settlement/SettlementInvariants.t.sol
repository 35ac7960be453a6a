// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "../utils/Test.sol";
import {Invariant} from "../utils/Invariant.sol";
import {SettlementFixture} from "./SettlementFixture.sol";
import {PairEscrow} from "../../../contracts/market/PairEscrow.sol";
import {BatchSettlement} from "../../../contracts/settlement/BatchSettlement.sol";
import {ChallengeGame} from "../../../contracts/settlement/ChallengeGame.sol";
import {Staking} from "../../../contracts/Staking.sol";
import {TestToken} from "../../../contracts/token/TestToken.sol";
import {EncodingsHarness} from "../../../contracts/test/EncodingsHarness.sol";
import {IBatchSettlement} from "../../../contracts/interfaces/IBatchSettlement.sol";
import {IChallengeGame} from "../../../contracts/interfaces/IChallengeGame.sol";
import {Encodings} from "../../../contracts/libraries/Encodings.sol";
import {PositionalMerkle} from "../../../contracts/libraries/PositionalMerkle.sol";
import {ProofBuilder} from "../utils/ProofBuilder.sol";

/// @notice Random batches of ticket leaves from two requesters: commits (sometimes declaring less
/// than the leaves add up to, sometimes re-committing leaves already paid), data challenges that
/// are answered or left silent, settlements with the requesters' latest vouchers, credit
/// withdrawals and time. Ghost accounting tracks what each requester authorized.
contract SettlementHandler is Test {
    struct Made {
        Encodings.Leaf leaf;
        IChallengeGame.LeafData data;
    }

    struct Batch {
        IBatchSettlement.BatchHeader header;
        uint256 id;
        uint256 firstMade; // index into `made` of the batch's first leaf
        uint256 count;
        bool challenged;
        uint256 challengeId;
    }

    PairEscrow public immutable escrow;
    BatchSettlement public immutable settlement;
    ChallengeGame public immutable game;
    Staking public immutable staking;
    TestToken public immutable token;
    EncodingsHarness public immutable enc;
    address public immutable node;
    address public immutable validator;
    uint256[2] internal _keys;
    address[2] internal _requesters;
    bytes32 internal immutable _model;
    bytes32 internal immutable _profile;
    uint256 internal immutable _price;
    uint256 internal immutable _window;

    Made[] internal _made;
    Batch[] internal _batches;
    mapping(address requester => uint256 amount) public authorized; // ghost: cumulative voucher signed
    mapping(address requester => uint64 sequence) public sequenceOf;
    uint256 public calls;
    uint256 public settledChunks;

    constructor(
        PairEscrow escrow_,
        BatchSettlement settlement_,
        ChallengeGame game_,
        Staking staking_,
        TestToken token_,
        address node_,
        address validator_,
        uint256[2] memory keys,
        bytes32 model,
        bytes32 profile,
        uint256 price,
        uint256 window
    ) {
        escrow = escrow_;
        settlement = settlement_;
        game = game_;
        staking = staking_;
        token = token_;
        enc = new EncodingsHarness();
        node = node_;
        validator = validator_;
        _keys = keys;
        _requesters = [vm.addr(keys[0]), vm.addr(keys[1])];
        _model = model;
        _profile = profile;
        _price = price;
        _window = window;
    }

    function requesters() external view returns (address[2] memory) {
        return _requesters;
    }

    function batchCount() external view returns (uint256) {
        return _batches.length;
    }

    function batchAt(uint256 i) external view returns (IBatchSettlement.BatchHeader memory, uint256 id) {
        return (_batches[i].header, _batches[i].id);
    }

    /// @dev A new ticket leaf for requester `r`; the requester "accepts" it (authorizes its amount).
    function _newLeaf(uint256 r, uint256 seed) internal returns (uint256 idx) {
        address who = _requesters[r];
        uint64 seq = ++sequenceOf[who];
        IChallengeGame.LeafData memory d;
        d.prompt = string(abi.encodePacked("p", seed, seq));
        d.stop = new string[](0);
        d.maxTokens = 32;
        d.tokens = new uint32[](1 + (seed % 5));
        for (uint256 k = 0; k < d.tokens.length; ++k) d.tokens[k] = uint32(300 + ((seed >> k) % 100));
        Encodings.Ticket memory t = Encodings.Ticket({
            requester: who,
            node: node,
            model: _model,
            adapter: bytes32(0),
            input: enc.hashInput(d.prompt, d.maxTokens, d.stop, d.seed),
            maxTokens: 32,
            pricePerToken: _price,
            sequence: seq,
            expiry: uint64(block.timestamp + 1 hours),
            profile: _profile
        });
        Encodings.Leaf memory l = Encodings.Leaf({
            index: 0,
            kind: Encodings.LEAF_TICKET,
            ref: escrow.ticketId(t),
            requester: who,
            model: _model,
            adapter: bytes32(0),
            input: t.input,
            output: enc.hashOutput(_profile, d.tokens),
            tokens: uint32(d.tokens.length),
            amount: d.tokens.length * _price,
            expiry: t.expiry,
            profile: _profile
        });
        authorized[who] += l.amount;
        _made.push(Made(l, d));
        idx = _made.length - 1;
    }

    /// @notice Commits a batch of 1-6 leaves: new ones, or (replay) leaves already committed.
    function commit(uint256 seed, uint8 n, bool replay, bool underDeclare) external {
        ++calls;
        uint256 count = 1 + (n % 6);
        uint256 first = _made.length;
        for (uint256 i = 0; i < count; ++i) {
            if (replay && first > 0) {
                Made memory old = _made[(seed + i) % first];
                _made.push(old);
            } else {
                _newLeaf((seed >> i) & 1, seed + i);
            }
        }
        // Leaves grouped by requester so each group has one voucher (as agents/lib/batch.ts does).
        _sortByRequester(first, count);
        bytes32[] memory hashes = new bytes32[](count);
        uint128 payout;
        for (uint256 i = 0; i < count; ++i) {
            _made[first + i].leaf.index = uint32(i);
            hashes[i] = enc.hashLeaf(_made[first + i].leaf);
            payout += uint128(_made[first + i].leaf.amount);
        }
        if (underDeclare) payout /= 2;
        bytes32 root = PositionalMerkle.rootOf(hashes);
        vm.prank(node);
        try settlement.commitBatch(root, uint32(count), payout) returns (uint256 id) {
            _batches.push(
                Batch({
                    header: IBatchSettlement.BatchHeader({
                        node: node,
                        leafCount: uint32(count),
                        committedAt: uint64(block.timestamp),
                        payout: payout,
                        lock: uint128((uint256(payout) * 20_000) / 10_000),
                        root: root
                    }),
                    id: id,
                    firstMade: first,
                    count: count,
                    challenged: false,
                    challengeId: 0
                })
            );
        } catch {}
    }

    function _sortByRequester(uint256 first, uint256 count) internal {
        for (uint256 i = 1; i < count; ++i) {
            for (uint256 j = i; j > 0; --j) {
                Made storage a = _made[first + j - 1];
                Made storage b = _made[first + j];
                if (uint160(a.leaf.requester) <= uint160(b.leaf.requester)) break;
                Made memory tmp = a;
                _made[first + j - 1] = b;
                _made[first + j] = tmp;
            }
        }
    }

    /// @notice Challenges a leaf of a recent batch (data), and answers it unless `silent`.
    function challenge(uint256 bSeed, uint8 leafSeed, bool silent) external {
        ++calls;
        if (_batches.length == 0) return;
        Batch storage b = _batches[bSeed % _batches.length];
        if (b.challenged) return;
        uint32 i = uint32(leafSeed % b.count);
        bytes32 salt = keccak256(abi.encode(bSeed, leafSeed));
        // One slot per batch; a bond is prepaid into it first (slots keep returned bonds).
        uint96 slot = uint96(b.id);
        uint256 id = game.challengeIdOf(validator, slot);
        uint256 bond = game.challengeBond();
        if (game.challengeOf(id).balance < bond) {
            vm.prank(validator);
            try game.fundSlot(slot, bond) {} catch {
                return;
            }
        }
        vm.prank(validator);
        try game.commitChallenge(slot, Encodings.challengeCommitment(b.id, i, 0, validator, salt)) {} catch {
            return;
        }
        vm.prank(validator);
        try game.revealChallenge(slot, b.id, b.header, i, 0, salt) {
            b.challenged = true;
            b.challengeId = id;
        } catch {
            return;
        }
        if (silent) return;
        bytes32[] memory proof = _proof(b, i);
        Made memory m = _made[b.firstMade + i];
        vm.prank(node);
        game.respondToChallenge(b.challengeId, b.id, b.header, m.leaf, proof, m.data);
    }

    function slashSilent(uint256 bSeed) external {
        ++calls;
        if (_batches.length == 0) return;
        Batch storage b = _batches[bSeed % _batches.length];
        if (b.challengeId == 0) return;
        try game.slashSilent(b.challengeId, b.id, b.header) {} catch {}
    }

    /// @notice Settles a batch's single chunk with both requesters' latest vouchers.
    function settle(uint256 bSeed) external {
        ++calls;
        if (_batches.length == 0) return;
        Batch storage b = _batches[bSeed % _batches.length];
        IBatchSettlement.Chunk memory c;
        c.index = 0;
        c.groups = _groups(b);
        c.proof = new bytes32[](0);
        c.payments = new IBatchSettlement.PairPayment[](c.groups.length);
        for (uint256 g = 0; g < c.groups.length; ++g) {
            address who = c.groups[g].requester;
            uint256 key = who == _requesters[0] ? _keys[0] : _keys[1];
            Encodings.Voucher memory v = Encodings.Voucher(who, node, authorized[who], sequenceOf[who]);
            (uint8 vv, bytes32 r, bytes32 s) = vm.sign(key, escrow.voucherDigest(v));
            c.payments[g] = IBatchSettlement.PairPayment(v, abi.encodePacked(r, s, vv));
        }
        c.tickets = new IBatchSettlement.TicketPayment[](0);
        vm.prank(node);
        try settlement.settleChunk(b.id, b.header, c) {
            ++settledChunks;
        } catch {}
    }

    function _groups(Batch storage b) internal view returns (IBatchSettlement.LeafGroup[] memory out) {
        IBatchSettlement.LeafGroup[] memory tmp = new IBatchSettlement.LeafGroup[](b.count);
        uint256 n;
        for (uint256 i = 0; i < b.count; ++i) {
            Encodings.Leaf memory l = _made[b.firstMade + i].leaf;
            if (n == 0 || tmp[n - 1].requester != l.requester) {
                tmp[n] = IBatchSettlement.LeafGroup(
                    l.kind,
                    l.requester,
                    l.model,
                    l.adapter,
                    l.profile,
                    new IBatchSettlement.CompactLeaf[](0)
                );
                ++n;
            }
            IBatchSettlement.CompactLeaf[] memory old = tmp[n - 1].leaves;
            IBatchSettlement.CompactLeaf[] memory grown = new IBatchSettlement.CompactLeaf[](old.length + 1);
            for (uint256 k = 0; k < old.length; ++k) grown[k] = old[k];
            grown[old.length] = IBatchSettlement.CompactLeaf(
                l.ref,
                l.input,
                l.output,
                (l.amount << 128) | (uint256(l.expiry) << 32) | l.tokens
            );
            tmp[n - 1].leaves = grown;
        }
        out = new IBatchSettlement.LeafGroup[](n);
        for (uint256 g = 0; g < n; ++g) out[g] = tmp[g];
    }

    function _proof(Batch storage b, uint256 idx) internal view returns (bytes32[] memory) {
        bytes32[] memory hashes = new bytes32[](b.count);
        for (uint256 i = 0; i < b.count; ++i) hashes[i] = enc.hashLeaf(_made[b.firstMade + i].leaf);
        return ProofBuilder.proofOf(hashes, idx);
    }

    function withdrawNode() external {
        ++calls;
        vm.prank(node);
        try settlement.withdrawCredits() {} catch {}
    }

    function warp(uint256 secondsSeed) external {
        ++calls;
        vm.warp(block.timestamp + 1 + (secondsSeed % (2 * _window)));
    }
}

contract SettlementInvariantsTest is SettlementFixture, Invariant {
    SettlementHandler internal handler;

    function setUp() public override {
        super.setUp();
        handler = new SettlementHandler(
            escrow,
            settlement,
            game,
            staking,
            token,
            node,
            validator,
            [REQUESTER_KEY, REQUESTER2_KEY],
            MODEL_A,
            PROFILE,
            PRICE,
            CHALLENGE_WINDOW + REVEAL_PERIOD
        );
        // The validator's bonds are paid by the handler's pranked calls: approve the game.
        targetContract(address(handler));
    }

    /// @notice No requester pays more than it authorized, across every batch and re-commit.
    function invariant_noRequesterPaysMoreThanAuthorized() public view {
        address[2] memory rs = handler.requesters();
        for (uint256 i = 0; i < 2; ++i) {
            uint256 paid = escrow.pairOf(rs[i], node).paid;
            assertLe(paid, handler.authorized(rs[i]), "paid <= authorized");
        }
    }

    /// @notice No batch is paid more than its declared payout.
    function invariant_batchPaidAtMostPayout() public view {
        uint256 n = handler.batchCount();
        for (uint256 i = 0; i < n; ++i) {
            (IBatchSettlement.BatchHeader memory h, uint256 id) = handler.batchAt(i);
            assertLe(settlement.stateOf(id).paid, h.payout, "paid <= payout");
        }
    }

    /// @notice Tokens are conserved: every contract holds what its ledger says it owes.
    function invariant_tokensConserved() public view {
        (uint256 escrowed, uint256 credits) = escrow.totals();
        assertEq(token.balanceOf(address(escrow)), escrowed + credits, "escrow holds escrow + credits");
        assertEq(token.balanceOf(address(game)), game.bondsHeld() + game.totalCredits(), "game holds bonds + credits");
        assertGe(
            token.balanceOf(address(settlement)) + escrow.creditOf(address(settlement)),
            settlement.totalCredits(),
            "settlement can pay every credit"
        );
        assertEq(
            token.balanceOf(address(staking)),
            staking.totalStaked() + staking.totalCredits(),
            "staking holds stake + credits"
        );
    }

    /// @notice The suite exercises the handler (a silent runner would prove nothing).
    function afterInvariant() public view {
        assertGt(handler.calls(), 0, "handler was called");
    }
}
