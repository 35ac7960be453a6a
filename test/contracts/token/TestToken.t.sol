// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {Test} from "../utils/Test.sol";
import {TestToken} from "../../../contracts/token/TestToken.sol";

contract TestTokenTest is Test {
    TestToken internal token;
    address internal alice;

    function setUp() public {
        token = new TestToken(1_000e18);
        alice = makeAddr("alice");
    }

    function test_constructor_metadata_matches() public view {
        assertEq(token.name(), "LLMarket Test Token", "name");
        assertEq(token.symbol(), "LLMT", "symbol");
        assertEq(token.decimals(), 18, "decimals");
        assertEq(token.balanceOf(address(this)), 1_000e18, "initial supply to deployer");
    }

    function test_faucet_hardhatChain_mints() public {
        vm.chainId(31337);
        vm.expectEmit(address(token));
        emit TestToken.FaucetDripped(alice, 5e18);
        token.faucet(alice, 5e18);
        assertEq(token.balanceOf(alice), 5e18, "minted");
    }

    function test_faucet_devChain1337_mints() public {
        vm.chainId(1337);
        token.faucet(alice, 1);
        assertEq(token.balanceOf(alice), 1, "minted");
    }

    function test_faucet_otherChain_reverts() public {
        vm.chainId(1);
        vm.expectRevert(abi.encodeWithSelector(TestToken.TestTokenFaucetUnavailable.selector, 1));
        token.faucet(alice, 1);
    }

    function test_faucet_tooMuch_reverts() public {
        vm.chainId(31337);
        uint256 tooMuch = token.MAX_FAUCET_AMOUNT() + 1;
        vm.expectRevert(abi.encodeWithSelector(TestToken.TestTokenFaucetAmountTooHigh.selector, tooMuch, tooMuch - 1));
        token.faucet(alice, tooMuch);
    }

    function testFuzz_faucet_amount_boundedOnly(uint256 amount) public {
        vm.chainId(31337);
        (bool ok, ) = address(token).call(abi.encodeCall(TestToken.faucet, (alice, amount)));
        assertEq(ok, amount <= 1_000_000e18, "bounded");
    }

    function test_permit_validSignature_setsAllowance() public {
        uint256 key = 0xA11CE;
        address owner = vm.addr(key);
        bytes32 typehash = keccak256(
            "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
        );
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(abi.encode(typehash, owner, alice, 7e18, 0, deadline));
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        token.permit(owner, alice, 7e18, deadline, v, r, s);
        assertEq(token.allowance(owner, alice), 7e18, "allowance");
        assertEq(token.nonces(owner), 1, "nonce");
    }
}
