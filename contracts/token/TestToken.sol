// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title TestToken
/// @notice The protocol token of local deployments: ERC20 + EIP-2612 permit, 18 decimals, an
/// initial supply minted to the deployer, and a faucet that works only on development chains.
contract TestToken is ERC20, ERC20Permit {
    /// @notice Most tokens one faucet call mints.
    uint256 public constant MAX_FAUCET_AMOUNT = 1_000_000e18;
    /// @notice Hardhat's chain id.
    uint256 public constant HARDHAT_CHAIN_ID = 31337;
    /// @notice Ganache's (and some dev nodes') chain id.
    uint256 public constant DEV_CHAIN_ID = 1337;

    /// @notice The faucet minted `amount` to `to`.
    event FaucetDripped(address indexed to, uint256 amount);

    /// @notice The faucet is disabled on this chain.
    error TestTokenFaucetUnavailable(uint256 chainId);
    /// @notice The faucet amount exceeds MAX_FAUCET_AMOUNT.
    error TestTokenFaucetAmountTooHigh(uint256 amount, uint256 max);

    /// @param initialSupply Minted to the deployer.
    constructor(uint256 initialSupply) ERC20("LLMarket Test Token", "LLMT") ERC20Permit("LLMarket Test Token") {
        _mint(msg.sender, initialSupply);
    }

    /// @notice Mints `amount` (<= MAX_FAUCET_AMOUNT) to `to`; only on chain 31337 or 1337.
    function faucet(address to, uint256 amount) external {
        // INVARIANT: no tokens appear from nothing outside development chains.
        if (block.chainid != HARDHAT_CHAIN_ID && block.chainid != DEV_CHAIN_ID) {
            revert TestTokenFaucetUnavailable(block.chainid);
        }
        if (amount > MAX_FAUCET_AMOUNT) revert TestTokenFaucetAmountTooHigh(amount, MAX_FAUCET_AMOUNT);
        _mint(to, amount);
        emit FaucetDripped(to, amount);
    }
}
