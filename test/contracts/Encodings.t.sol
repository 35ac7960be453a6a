// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {Test} from "./utils/Test.sol";
import {Encodings} from "../../contracts/libraries/Encodings.sol";
import {PositionalMerkle} from "../../contracts/libraries/PositionalMerkle.sol";
import {EncodingsHarness} from "../../contracts/test/EncodingsHarness.sol";
import {ProofBuilder} from "./utils/ProofBuilder.sol";

/// @notice Checks contracts/libraries/{Encodings,PositionalMerkle}.sol against spec/vectors.json,
/// the same vectors the TypeScript side (agents/lib/encodings.ts) is checked against.
contract EncodingsVectorsTest is Test {
    EncodingsHarness internal h;
    string internal json;

    bytes32 internal constant DOMAIN_TYPEHASH = keccak256(
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    );

    function setUp() public {
        h = new EncodingsHarness();
        json = vm.readFile("spec/vectors.json");
    }

    function _b32(string memory key) internal view returns (bytes32) {
        return vm.parseJsonBytes32(json, key);
    }

    function _u(string memory key) internal view returns (uint256) {
        return vm.parseJsonUint(json, key);
    }

    function _a(string memory key) internal view returns (address) {
        return vm.parseJsonAddress(json, key);
    }

    function _domainSeparator() internal view returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    DOMAIN_TYPEHASH,
                    keccak256("LLMarket"),
                    keccak256("1"),
                    _u(".chainId"),
                    _a(".verifyingContract")
                )
            );
    }

    function test_typehashes_matchVectors() public view {
        assertEq(Encodings.TICKET_TYPEHASH, _b32(".typehashes.Ticket"), "Ticket");
        assertEq(Encodings.RECEIPT_TYPEHASH, _b32(".typehashes.Receipt"), "Receipt");
        assertEq(Encodings.VOUCHER_TYPEHASH, _b32(".typehashes.Voucher"), "Voucher");
        assertEq(Encodings.INPUT_TYPEHASH, _b32(".typehashes.Input"), "Input");
        assertEq(Encodings.OUTPUT_TYPEHASH, _b32(".typehashes.Output"), "Output");
        assertEq(Encodings.PROFILE_TYPEHASH, _b32(".typehashes.Profile"), "Profile");
        assertEq(Encodings.SAMPLER_TYPEHASH, _b32(".typehashes.Sampler"), "Sampler");
        assertEq(Encodings.VERIFICATION_RULE_TYPEHASH, _b32(".typehashes.VerificationRule"), "VerificationRule");
        assertEq(Encodings.LEAF_TYPEHASH, _b32(".typehashes.Leaf"), "Leaf");
        assertEq(Encodings.BID_TYPEHASH, _b32(".typehashes.BidCommitment"), "BidCommitment");
        assertEq(Encodings.CHALLENGE_TYPEHASH, _b32(".typehashes.ChallengeCommitment"), "ChallengeCommitment");
        assertEq(Encodings.VOTE_TYPEHASH, _b32(".typehashes.VoteCommitment"), "VoteCommitment");
    }

    function test_domainSeparator_matchesVector() public view {
        assertEq(_domainSeparator(), _b32(".domainSeparator"), "domain separator");
    }

    function test_ticket_digestAndSignature_matchVectors() public view {
        Encodings.Ticket memory t = Encodings.Ticket({
            requester: _a(".ticket.message.requester"),
            node: _a(".ticket.message.node"),
            model: _b32(".ticket.message.model"),
            adapter: _b32(".ticket.message.adapter"),
            input: _b32(".ticket.message.input"),
            maxTokens: uint32(_u(".ticket.message.maxTokens")),
            pricePerToken: _u(".ticket.message.pricePerToken"),
            sequence: uint64(_u(".ticket.message.sequence")),
            expiry: uint64(_u(".ticket.message.expiry")),
            profile: _b32(".ticket.message.profile")
        });
        bytes32 digest = MessageHashUtils.toTypedDataHash(_domainSeparator(), h.hashTicket(t));
        assertEq(digest, _b32(".ticket.digest"), "ticket digest");
        bytes memory sig = vm.parseJsonBytes(json, ".ticket.signature");
        assertEq(ECDSA.recover(digest, sig), _a(".ticket.signer"), "ticket signer");
    }

    function test_receipt_digestAndSignature_matchVectors() public view {
        Encodings.Receipt memory r = Encodings.Receipt({
            ticket: _b32(".receipt.message.ticket"),
            output: _b32(".receipt.message.output"),
            tokens: uint32(_u(".receipt.message.tokens"))
        });
        assertEq(r.ticket, _b32(".ticket.digest"), "receipt names the ticket digest");
        bytes32 digest = MessageHashUtils.toTypedDataHash(_domainSeparator(), h.hashReceipt(r));
        assertEq(digest, _b32(".receipt.digest"), "receipt digest");
        bytes memory sig = vm.parseJsonBytes(json, ".receipt.signature");
        assertEq(ECDSA.recover(digest, sig), _a(".receipt.signer"), "receipt signer");
    }

    function test_voucher_digestAndSignature_matchVectors() public view {
        Encodings.Voucher memory v = Encodings.Voucher({
            requester: _a(".voucher.message.requester"),
            node: _a(".voucher.message.node"),
            cumulativeAmount: _u(".voucher.message.cumulativeAmount"),
            throughSequence: uint64(_u(".voucher.message.throughSequence"))
        });
        bytes32 digest = MessageHashUtils.toTypedDataHash(_domainSeparator(), h.hashVoucher(v));
        assertEq(digest, _b32(".voucher.digest"), "voucher digest");
        bytes memory sig = vm.parseJsonBytes(json, ".voucher.signature");
        assertEq(ECDSA.recover(digest, sig), _a(".voucher.signer"), "voucher signer");
    }

    function test_inputHash_matchesVectors() public view {
        for (uint256 i = 0; i < 3; ++i) {
            string memory p = string.concat(".inputs[", vm.toString(i), "]");
            bytes32 got = h.hashInput(
                vm.parseJsonString(json, string.concat(p, ".prompt")),
                uint32(_u(string.concat(p, ".maxTokens"))),
                vm.parseJsonStringArray(json, string.concat(p, ".stop")),
                uint64(_u(string.concat(p, ".seed")))
            );
            assertEq(got, _b32(string.concat(p, ".hash")), p);
        }
    }

    function test_outputHash_matchesVectors() public view {
        for (uint256 i = 0; i < 2; ++i) {
            string memory p = string.concat(".outputs[", vm.toString(i), "]");
            uint256[] memory raw = vm.parseJsonUintArray(json, string.concat(p, ".tokens"));
            uint32[] memory tokens = new uint32[](raw.length);
            for (uint256 k = 0; k < raw.length; ++k) tokens[k] = uint32(raw[k]);
            assertEq(h.hashOutput(_b32(string.concat(p, ".profile")), tokens), _b32(string.concat(p, ".hash")), p);
        }
    }

    function test_profileHash_matchesVector() public view {
        string memory p = ".profile.value";
        Encodings.Profile memory prof;
        prof.model = _b32(string.concat(p, ".model"));
        prof.adapter = _b32(string.concat(p, ".adapter"));
        prof.llamaBuild = vm.parseJsonString(json, string.concat(p, ".llamaBuild"));
        prof.cpuVariant = vm.parseJsonString(json, string.concat(p, ".cpuVariant"));
        prof.threads = uint32(_u(string.concat(p, ".threads")));
        prof.batchSize = uint32(_u(string.concat(p, ".batchSize")));
        prof.contextSize = uint32(_u(string.concat(p, ".contextSize")));
        prof.flashAttention = vm.parseJsonBool(json, string.concat(p, ".flashAttention"));
        prof.freshSequence = vm.parseJsonBool(json, string.concat(p, ".freshSequence"));
        prof.chatTemplate = _b32(string.concat(p, ".chatTemplate"));
        string memory s = string.concat(p, ".sampler");
        prof.sampler = Encodings.Sampler({
            kind: uint8(_u(string.concat(s, ".kind"))),
            temperatureMilli: uint32(_u(string.concat(s, ".temperatureMilli"))),
            topK: uint32(_u(string.concat(s, ".topK"))),
            topPMilli: uint32(_u(string.concat(s, ".topPMilli"))),
            minPMilli: uint32(_u(string.concat(s, ".minPMilli"))),
            repeatPenaltyMilli: uint32(_u(string.concat(s, ".repeatPenaltyMilli"))),
            repeatLastN: uint32(_u(string.concat(s, ".repeatLastN"))),
            frequencyPenaltyMilli: uint32(_u(string.concat(s, ".frequencyPenaltyMilli"))),
            presencePenaltyMilli: uint32(_u(string.concat(s, ".presencePenaltyMilli")))
        });
        string memory v = string.concat(p, ".verification");
        prof.verification = Encodings.VerificationRule({
            mode: uint8(_u(string.concat(v, ".mode"))),
            exactBelowTokens: uint32(_u(string.concat(v, ".exactBelowTokens"))),
            topK: uint32(_u(string.concat(v, ".topK"))),
            maxMissBps: uint32(_u(string.concat(v, ".maxMissBps"))),
            minMeanLogProbMicro: int32(vm.parseJsonInt(json, string.concat(v, ".minMeanLogProbMicro")))
        });
        assertEq(h.hashProfile(prof), _b32(".profile.hash"), "profile hash");
    }

    function _leaf(uint256 i) internal view returns (Encodings.Leaf memory l) {
        string memory p = string.concat(".leaves[", vm.toString(i), "]");
        l.index = uint32(_u(string.concat(p, ".index")));
        l.kind = uint8(_u(string.concat(p, ".kind")));
        l.ref = _b32(string.concat(p, ".ref"));
        l.requester = _a(string.concat(p, ".requester"));
        l.model = _b32(string.concat(p, ".model"));
        l.adapter = _b32(string.concat(p, ".adapter"));
        l.input = _b32(string.concat(p, ".input"));
        l.output = _b32(string.concat(p, ".output"));
        l.tokens = uint32(_u(string.concat(p, ".tokens")));
        l.amount = _u(string.concat(p, ".amount"));
        l.expiry = uint64(_u(string.concat(p, ".expiry")));
        l.profile = _b32(string.concat(p, ".profile"));
    }

    function test_leafHash_matchesVectors() public view {
        for (uint256 i = 0; i < 5; ++i) {
            assertEq(h.hashLeaf(_leaf(i)), _b32(string.concat(".leaves[", vm.toString(i), "].hash")), "leaf");
        }
    }

    function test_commitments_matchVectors() public view {
        assertEq(
            h.bidCommitment(
                _u(".commitments.bid.jobId"),
                _a(".commitments.bid.bidder"),
                _u(".commitments.bid.pricePerToken"),
                _b32(".commitments.bid.salt")
            ),
            _b32(".commitments.bid.hash"),
            "bid"
        );
        assertEq(
            h.challengeCommitment(
                _u(".commitments.challenge.batchId"),
                uint32(_u(".commitments.challenge.leafIndex")),
                uint8(_u(".commitments.challenge.kind")),
                _a(".commitments.challenge.challenger"),
                _b32(".commitments.challenge.salt")
            ),
            _b32(".commitments.challenge.hash"),
            "challenge"
        );
        assertEq(
            h.voteCommitment(
                _u(".commitments.vote.disputeId"),
                _a(".commitments.vote.voter"),
                vm.parseJsonBool(json, ".commitments.vote.guilty"),
                _b32(".commitments.vote.salt")
            ),
            _b32(".commitments.vote.hash"),
            "vote"
        );
    }

    function test_merkle_proofsAndRoots_matchVectors() public view {
        for (uint256 t = 0; t < 4; ++t) {
            string memory p = string.concat(".trees[", vm.toString(t), "]");
            uint256 n = _u(string.concat(p, ".leafCount"));
            bytes32 root = _b32(string.concat(p, ".root"));
            bytes32[] memory leaves = vm.parseJsonBytes32Array(json, string.concat(p, ".leaves"));
            for (uint256 i = 0; i < n; ++i) {
                string memory q = string.concat(p, ".proofs[", vm.toString(i), "]");
                bytes32[] memory proof = vm.parseJsonBytes32Array(json, string.concat(q, ".proof"));
                assertTrue(h.merkleVerify(root, leaves[i], i, n, proof), "proof verifies");
                // The same proof must not verify the leaf at any other index.
                if (n > 1) {
                    assertFalse(h.merkleVerify(root, leaves[i], (i + 1) % n, n, proof), "index is bound");
                }
            }
            assertEq(h.merkleRootOf(leaves), root, "root of all leaves");
        }
    }

    function test_merkle_badProofLength_reverts() public {
        bytes32[] memory proof = new bytes32[](1);
        vm.expectRevert(abi.encodeWithSelector(PositionalMerkle.PositionalMerkleBadProofLength.selector, 1, 2));
        h.merkleRoot(bytes32(uint256(1)), 0, 3, proof);
    }

    function test_merkle_indexOutOfRange_reverts() public {
        bytes32[] memory proof = new bytes32[](2);
        vm.expectRevert(abi.encodeWithSelector(PositionalMerkle.PositionalMerkleIndexOutOfRange.selector, 3, 3));
        h.merkleRoot(bytes32(uint256(1)), 3, 3, proof);
    }

    function test_merkle_empty_reverts() public {
        vm.expectRevert(PositionalMerkle.PositionalMerkleEmpty.selector);
        h.merkleDepth(0);
    }

    function test_merkle_depth_isCeilLog2(uint256 n) public view {
        n = bound(n, 1, 1 << 40);
        uint256 d = h.merkleDepth(n);
        assertGe(uint256(1) << d, n, "2^d >= n");
        if (d > 0) assertLt(uint256(1) << (d - 1), n, "2^(d-1) < n");
    }

    /// @notice A proof built in Solidity for random leaves verifies at its index and only there.
    function test_merkle_randomTrees_verifyPositionally(uint256 seed, uint8 count) public view {
        uint256 n = bound(count, 1, 40);
        bytes32[] memory leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) leaves[i] = keccak256(abi.encode(seed, i));
        bytes32 root = h.merkleRootOf(_copy(leaves));
        uint256 idx = seed % n;
        bytes32[] memory proof = ProofBuilder.proofOf(leaves, idx);
        assertTrue(h.merkleVerify(root, leaves[idx], idx, n, proof), "verifies");
        if (n > 1) assertFalse(h.merkleVerify(root, leaves[idx], (idx + 1) % n, n, proof), "other index fails");
    }

    function _copy(bytes32[] memory a) internal pure returns (bytes32[] memory b) {
        b = new bytes32[](a.length);
        for (uint256 i = 0; i < a.length; ++i) b[i] = a[i];
    }
}
