// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title PositionalMerkle
/// @notice Merkle trees whose proofs bind the leaf's index (spec/encodings.md, "Batch trees").
/// A tree over `leafCount` leaves has width 2^depth, depth = ceil(log2(leafCount)); positions at or
/// past `leafCount` hold bytes32(0); a parent is keccak256(left ‖ right), never sorted. At level k
/// the k-th bit of the index says whether the running node is the right (1) or left (0) child. OZ's
/// MerkleProof sorts pairs, which would let one proof serve two indices, so it is not used here.
library PositionalMerkle {
    /// @notice The number of leaves in one chunk: a chunk root is an internal node at height 8.
    uint256 internal constant CHUNK_LEAVES = 256;
    uint256 internal constant CHUNK_HEIGHT = 8;

    /// @notice Thrown when a proof's length does not match the depth fixed by the leaf count.
    error PositionalMerkleBadProofLength(uint256 length, uint256 expected);
    /// @notice Thrown when an index is outside the tree's leaves.
    error PositionalMerkleIndexOutOfRange(uint256 index, uint256 leafCount);
    /// @notice Thrown when a tree of zero leaves is asked for.
    error PositionalMerkleEmpty();

    /// @notice ceil(log2(leafCount)); 0 for a single leaf.
    function depth(uint256 leafCount) internal pure returns (uint256 d) {
        if (leafCount == 0) revert PositionalMerkleEmpty();
        while ((uint256(1) << d) < leafCount) {
            // Reason: d < 256 because leafCount < 2^256.
            unchecked {
                ++d;
            }
        }
    }

    /// @notice The root reached from `leaf` at `index` with `proof` (siblings bottom-up).
    function computeRoot(
        bytes32 leaf,
        uint256 index,
        uint256 leafCount,
        bytes32[] calldata proof
    ) internal pure returns (bytes32 node) {
        if (index >= leafCount) revert PositionalMerkleIndexOutOfRange(index, leafCount);
        uint256 d = depth(leafCount);
        if (proof.length != d) revert PositionalMerkleBadProofLength(proof.length, d);
        node = leaf;
        for (uint256 k = 0; k < d; ++k) {
            bytes32 sibling = proof[k];
            node = (index >> k) & 1 == 1 ? _hashPair(sibling, node) : _hashPair(node, sibling);
        }
    }

    /// @notice True when `leaf` sits at `index` of the tree with `root` over `leafCount` leaves.
    function verify(
        bytes32 root,
        bytes32 leaf,
        uint256 index,
        uint256 leafCount,
        bytes32[] calldata proof
    ) internal pure returns (bool) {
        return computeRoot(leaf, index, leafCount, proof) == root;
    }

    /// @notice The root of a whole tree (leaves in place, zero-padded to the next power of two).
    /// @dev Overwrites `leaves` as scratch space.
    function rootOf(bytes32[] memory leaves) internal pure returns (bytes32) {
        uint256 n = leaves.length;
        uint256 width = uint256(1) << depth(n);
        bytes32[] memory level = leaves;
        if (width != n) {
            level = new bytes32[](width);
            for (uint256 i = 0; i < n; ++i) level[i] = leaves[i];
        }
        while (width > 1) {
            width >>= 1;
            for (uint256 i = 0; i < width; ++i) {
                level[i] = _hashPair(level[2 * i], level[2 * i + 1]);
            }
        }
        return level[0];
    }

    function _hashPair(bytes32 a, bytes32 b) private pure returns (bytes32 value) {
        assembly ("memory-safe") {
            mstore(0x00, a)
            mstore(0x20, b)
            value := keccak256(0x00, 0x40)
        }
    }
}
