// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Encodings} from "../libraries/Encodings.sol";
import {PositionalMerkle} from "../libraries/PositionalMerkle.sol";

/// @notice Test-only: exposes the encoding libraries so tests can call them with calldata.
contract EncodingsHarness {
    function hashTicket(Encodings.Ticket calldata t) external pure returns (bytes32) {
        return Encodings.hashTicket(t);
    }

    function hashReceipt(Encodings.Receipt calldata r) external pure returns (bytes32) {
        return Encodings.hashReceipt(r);
    }

    function hashVoucher(Encodings.Voucher calldata v) external pure returns (bytes32) {
        return Encodings.hashVoucher(v);
    }

    function hashInput(
        string calldata prompt,
        uint32 maxTokens,
        string[] calldata stop,
        uint64 seed
    ) external pure returns (bytes32) {
        return Encodings.hashInput(prompt, maxTokens, stop, seed);
    }

    function hashOutput(bytes32 profile, uint32[] calldata tokens) external pure returns (bytes32) {
        return Encodings.hashOutput(profile, tokens);
    }

    function hashProfile(Encodings.Profile calldata p) external pure returns (bytes32) {
        return Encodings.hashProfile(p);
    }

    function hashLeaf(Encodings.Leaf calldata leaf) external pure returns (bytes32) {
        return Encodings.hashLeaf(leaf);
    }

    function bidCommitment(uint256 jobId, address bidder, uint256 price, bytes32 salt) external pure returns (bytes32) {
        return Encodings.bidCommitment(jobId, bidder, price, salt);
    }

    function challengeCommitment(
        uint256 batchId,
        uint32 leafIndex,
        uint8 kind,
        address challenger,
        bytes32 salt
    ) external pure returns (bytes32) {
        return Encodings.challengeCommitment(batchId, leafIndex, kind, challenger, salt);
    }

    function voteCommitment(
        uint256 disputeId,
        address voter,
        bool guilty,
        bytes32 salt
    ) external pure returns (bytes32) {
        return Encodings.voteCommitment(disputeId, voter, guilty, salt);
    }

    function merkleRoot(
        bytes32 leaf,
        uint256 index,
        uint256 leafCount,
        bytes32[] calldata proof
    ) external pure returns (bytes32) {
        return PositionalMerkle.computeRoot(leaf, index, leafCount, proof);
    }

    function merkleVerify(
        bytes32 root,
        bytes32 leaf,
        uint256 index,
        uint256 leafCount,
        bytes32[] calldata proof
    ) external pure returns (bool) {
        return PositionalMerkle.verify(root, leaf, index, leafCount, proof);
    }

    function merkleRootOf(bytes32[] memory leaves) external pure returns (bytes32) {
        return PositionalMerkle.rootOf(leaves);
    }

    function merkleDepth(uint256 leafCount) external pure returns (uint256) {
        return PositionalMerkle.depth(leafCount);
    }
}
