// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {PositionalMerkle} from "../../../contracts/libraries/PositionalMerkle.sol";

/// @notice Builds positional Merkle proofs (spec/encodings.md, "Batch trees") the plain way, level
/// by level, as an oracle for tests: zero-padded to the next power of two, siblings bottom-up.
library ProofBuilder {
    function proofOf(bytes32[] memory leaves, uint256 idx) internal pure returns (bytes32[] memory proof) {
        uint256 d = PositionalMerkle.depth(leaves.length);
        uint256 width = uint256(1) << d;
        bytes32[] memory level = new bytes32[](width);
        for (uint256 i = 0; i < leaves.length; ++i) level[i] = leaves[i];
        proof = new bytes32[](d);
        for (uint256 k = 0; k < d; ++k) {
            proof[k] = level[idx ^ 1];
            width >>= 1;
            for (uint256 i = 0; i < width; ++i) level[i] = keccak256(abi.encodePacked(level[2 * i], level[2 * i + 1]));
            idx >>= 1;
        }
    }
}
