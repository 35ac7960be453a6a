// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC1271} from "@openzeppelin/contracts/interfaces/IERC1271.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IPairEscrow} from "../../interfaces/IPairEscrow.sol";

/// @notice Test-only ERC-1271 contract wallet: accepts digests signed by its owner key unless the
/// owner revoked that digest (or everything). Deposits into PairEscrow on the owner's behalf.
contract ERC1271Wallet is IERC1271 {
    address public immutable owner;
    bool public revokedAll;
    mapping(bytes32 digest => bool revoked) public revoked;

    error WalletNotOwner(address caller);

    constructor(address owner_) {
        owner = owner_;
    }

    function revoke(bytes32 digest) external {
        if (msg.sender != owner) revert WalletNotOwner(msg.sender);
        revoked[digest] = true;
    }

    function revokeAll() external {
        if (msg.sender != owner) revert WalletNotOwner(msg.sender);
        revokedAll = true;
    }

    function deposit(IPairEscrow escrow, address node, uint256 amount) external {
        if (msg.sender != owner) revert WalletNotOwner(msg.sender);
        IERC20 token = escrow.token();
        token.approve(address(escrow), amount);
        escrow.deposit(node, amount);
    }

    function isValidSignature(bytes32 digest, bytes memory signature) external view returns (bytes4) {
        if (revokedAll || revoked[digest]) return 0xffffffff;
        (address recovered, ECDSA.RecoverError err, ) = ECDSA.tryRecover(digest, signature);
        if (err != ECDSA.RecoverError.NoError || recovered != owner) return 0xffffffff;
        return IERC1271.isValidSignature.selector;
    }
}
