// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {ProtocolAccess} from "../governance/ProtocolAccess.sol";
import {IChallengeGame} from "../interfaces/IChallengeGame.sol";
import {IBatchSettlement} from "../interfaces/IBatchSettlement.sol";
import {IDisputeResolver} from "../interfaces/IDisputeResolver.sol";
import {ISettlementEscrow} from "../interfaces/ISettlementEscrow.sol";
import {IStaking} from "../interfaces/IStaking.sol";
import {INodeRegistry} from "../interfaces/INodeRegistry.sol";
import {Encodings} from "../libraries/Encodings.sol";
import {PositionalMerkle} from "../libraries/PositionalMerkle.sol";

/// @title ChallengeGame
/// @notice Challenge-response over batch leaves (see IChallengeGame). Holds challenge bonds; every
/// bond ends as a credit here: to the node when it answers or wins (its response calldata is
/// paid for), back to the challenger when the node is silent or loses, back to the committer
/// when a commitment is never revealed.
/// @dev Receipts are EIP-712 messages under this contract's domain ("LLMarket", "1").
contract ChallengeGame is IChallengeGame, ProtocolAccess, EIP712, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant RESOLVER_ROLE = keccak256("RESOLVER_ROLE");

    uint8 public constant VOID_SILENT = 0;
    uint8 public constant VOID_GUILTY = 1;
    uint8 public constant VOID_EQUIVOCATION = 2;
    uint8 public constant VOID_TICKET_MISMATCH = 3;

    uint256 public constant MIN_WINDOW_SECONDS = 5;
    uint256 public constant MAX_WINDOW_SECONDS = 30 days;
    uint256 public constant MAX_BOND = 1e30;
    uint256 public constant MAX_COMMITTEE_SHARE_BPS = 5_000;

    IERC20 public immutable token;
    IBatchSettlement public immutable settlement;
    IStaking public immutable staking;
    INodeRegistry public immutable nodeRegistry;
    ISettlementEscrow public immutable escrow;

    IDisputeResolver public resolver;
    uint256 public challengeBond;
    uint256 public responseWindow;
    uint256 public reclaimDelay;
    /// @notice Share (bps) of the losing side's bond or slash that pays the dispute's committee.
    uint256 public committeeShareBps;
    uint256 public bondsHeld;
    uint256 public totalCredits;

    /// @dev One storage slot each: the bond is referenced by the version of the bond parameter
    /// in force at commit (bonds are fixed at commit even if governance changes the parameter).
    struct StoredCommit {
        address challenger;
        uint64 committedAt;
        uint32 bondVersion;
    }
    struct StoredChallenge {
        address challenger;
        uint8 kind;
        ChallengeStatus status;
        uint48 deadline;
        uint32 bondVersion;
    }

    /// @notice Version of `challengeBond`, incremented on every change.
    uint32 public bondVersion;
    mapping(uint32 version => uint256 bond) internal _bondAt;
    mapping(bytes32 commitment => StoredCommit) internal _commits;
    mapping(uint256 batchId => mapping(uint32 leafIndex => StoredChallenge)) internal _challenges;
    mapping(uint256 batchId => IBatchSettlement.BatchHeader) internal _disputeHeaders;
    mapping(address account => uint256 amount) public creditOf;

    constructor(
        address admin,
        IERC20 token_,
        IBatchSettlement settlement_,
        IStaking staking_,
        INodeRegistry nodeRegistry_,
        ISettlementEscrow escrow_,
        uint256 challengeBond_,
        uint256 responseWindow_,
        uint256 reclaimDelay_,
        uint256 committeeShareBps_
    ) ProtocolAccess(admin) EIP712("LLMarket", "1") {
        token = token_;
        settlement = settlement_;
        staking = staking_;
        nodeRegistry = nodeRegistry_;
        escrow = escrow_;
        _setParam("challengeBond", challengeBond_);
        _setParam("responseWindow", responseWindow_);
        _setParam("reclaimDelay", reclaimDelay_);
        _setParam("committeeShareBps", committeeShareBps_);
    }

    /// @notice Sets the wrong-output dispute resolver (the committee contract). Only the admin.
    function setResolver(IDisputeResolver newResolver) external onlyRole(DEFAULT_ADMIN_ROLE) {
        resolver = newResolver;
        emit ResolverSet(address(newResolver));
    }

    /// @inheritdoc IChallengeGame
    function setParameter(bytes32 name, uint256 value) external onlyRole(PARAMS_ROLE) {
        _setParam(name, value);
    }

    function _setParam(bytes32 name, uint256 value) internal {
        if (name == "challengeBond") {
            challengeBond = _checkParameter(name, challengeBond, value, 0, MAX_BOND);
            uint32 v = ++bondVersion;
            _bondAt[v] = value;
        } else if (name == "responseWindow") {
            responseWindow = _checkParameter(name, responseWindow, value, MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS);
        } else if (name == "committeeShareBps") {
            committeeShareBps = _checkParameter(name, committeeShareBps, value, 0, MAX_COMMITTEE_SHARE_BPS);
        } else if (name == "reclaimDelay") {
            reclaimDelay = _checkParameter(name, reclaimDelay, value, MIN_WINDOW_SECONDS, MAX_WINDOW_SECONDS);
        } else {
            revert ChallengeUnknownParameter(name);
        }
    }

    // ------------------------------------------------------------------ commit, reveal, reclaim

    /// @inheritdoc IChallengeGame
    function commitChallenge(bytes32 commitment) external whenNotPaused nonReentrant {
        if (_commits[commitment].challenger != address(0)) revert ChallengeCommitmentExists(commitment);
        uint256 stake = staking.activeStakeOf(msg.sender);
        uint256 minimum = staking.minValidatorStake();
        // INVARIANT: only staked validators challenge (a challenge costs the node a response).
        if (stake < minimum) revert ChallengeNotStakedValidator(msg.sender, stake, minimum);
        uint256 bond = challengeBond;
        _commits[commitment] = StoredCommit({
            challenger: msg.sender,
            committedAt: uint64(block.timestamp),
            bondVersion: bondVersion
        });
        bondsHeld += bond;
        if (bond != 0) token.safeTransferFrom(msg.sender, address(this), bond);
        emit ChallengeCommitted(commitment, msg.sender, bond);
    }

    /// @inheritdoc IChallengeGame
    function revealChallenge(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        uint32 leafIndex,
        uint8 kind,
        bytes32 salt
    ) external nonReentrant {
        if (kind > Encodings.CHALLENGE_WRONG_OUTPUT) revert ChallengeBadKind(kind);
        // INVARIANT: the commitment binds batch, leaf, kind and challenger: a copied commitment or
        // reveal cannot be used by anyone else or for another leaf.
        bytes32 commitment = Encodings.challengeCommitment(batchId, leafIndex, kind, msg.sender, salt);
        StoredCommit memory cc = _commits[commitment];
        if (cc.challenger == address(0)) revert ChallengeUnknownCommitment(commitment);
        if (msg.sender == header.node) revert ChallengeSelfChallenge(header.node);
        // Checks the header, the phase, the index and that the leaf is not challenged yet.
        settlement.openChallenge(batchId, header, leafIndex, cc.committedAt);
        delete _commits[commitment];
        uint64 deadline = uint64(block.timestamp + responseWindow);
        _challenges[batchId][leafIndex] = StoredChallenge({
            challenger: msg.sender,
            kind: kind,
            status: ChallengeStatus.Open,
            deadline: uint48(deadline),
            bondVersion: cc.bondVersion
        });
        emit ChallengeRevealed(batchId, leafIndex, msg.sender, kind, deadline);
    }

    /// @inheritdoc IChallengeGame
    function reclaimCommitment(bytes32 commitment) external nonReentrant {
        StoredCommit memory cc = _commits[commitment];
        if (cc.challenger != msg.sender) revert ChallengeUnknownCommitment(commitment);
        uint256 at = uint256(cc.committedAt) + reclaimDelay;
        if (block.timestamp <= at) revert ChallengeCommitmentNotStale(commitment, at);
        delete _commits[commitment];
        uint256 bond = _bondAt[cc.bondVersion];
        _creditBond(msg.sender, bond);
        emit CommitmentReclaimed(commitment, msg.sender, bond);
    }

    // ------------------------------------------------------------------ response and outcomes

    /// @inheritdoc IChallengeGame
    function respondToChallenge(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        LeafData calldata data
    ) external nonReentrant {
        settlement.checkHeader(batchId, header);
        StoredChallenge storage c = _challenges[batchId][leaf.index];
        if (c.status != ChallengeStatus.Open) revert ChallengeWrongStatus(batchId, leaf.index, c.status);
        if (block.timestamp > c.deadline) revert ChallengeResponseLate(c.deadline, block.timestamp);
        bytes32 leafHash = _verifyLeaf(batchId, header, leaf, proof);
        _checkData(batchId, leaf, data);
        emit ChallengeAnswered(batchId, leaf.index, leafHash);
        if (c.kind == Encodings.CHALLENGE_DATA) {
            _close(batchId, header, leaf.index, c, true, false, VOID_SILENT);
            return;
        }
        IDisputeResolver r = resolver;
        if (address(r) == address(0)) revert ChallengeNoResolver();
        c.status = ChallengeStatus.Disputed;
        if (_disputeHeaders[batchId].node == address(0)) _disputeHeaders[batchId] = header;
        uint256 disputeId = r.openDispute(
            batchId,
            leaf.index,
            header.node,
            c.challenger,
            leaf.model,
            leafHash,
            leaf.profile
        );
        emit DisputeOpened(batchId, leaf.index, address(r), disputeId);
    }

    /// @inheritdoc IChallengeGame
    function slashSilent(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        uint32 leafIndex
    ) external nonReentrant {
        StoredChallenge storage c = _challenges[batchId][leafIndex];
        if (c.status != ChallengeStatus.Open) revert ChallengeWrongStatus(batchId, leafIndex, c.status);
        // INVARIANT: silence is punished only after the whole response window has passed.
        if (block.timestamp <= c.deadline) revert ChallengeResponseNotLate(c.deadline, block.timestamp);
        _close(batchId, header, leafIndex, c, false, false, VOID_SILENT);
    }

    /// @inheritdoc IChallengeGame
    function resolveDispute(
        uint256 batchId,
        uint32 leafIndex,
        bool guilty
    ) external onlyRole(RESOLVER_ROLE) nonReentrant {
        StoredChallenge storage c = _challenges[batchId][leafIndex];
        if (c.status != ChallengeStatus.Disputed) revert ChallengeWrongStatus(batchId, leafIndex, c.status);
        _close(batchId, _disputeHeaders[batchId], leafIndex, c, !guilty, true, VOID_GUILTY);
    }

    /// @dev Ends a challenge. Cleared: the bond compensates the node. Upheld: the bond returns to
    /// the challenger and the settlement slashes the node (challenger share) and voids the batch.
    /// After a dispute, `committeeShareBps` of the losing side's bond (not guilty) or of the slash
    /// (guilty) pays the resolver, which pays its majority voters; the deciding committee never
    /// gains from one verdict over the other by more than that fixed share of either side.
    function _close(
        uint256 batchId,
        IBatchSettlement.BatchHeader memory header,
        uint32 leafIndex,
        StoredChallenge storage c,
        bool cleared,
        bool disputed,
        uint8 reason
    ) internal {
        c.status = cleared ? ChallengeStatus.Cleared : ChallengeStatus.Upheld;
        uint256 share = disputed ? committeeShareBps : 0;
        address bondTo = _payBond(c, header.node, cleared, disputed, share);
        uint256 slashed = settlement.closeChallenge(
            batchId,
            header,
            leafIndex,
            cleared,
            c.challenger,
            disputed ? address(resolver) : address(0),
            share,
            reason
        );
        emit ChallengeClosed(batchId, leafIndex, c.status, bondTo, _bondAt[c.bondVersion], slashed);
    }

    /// @dev The bond goes to the node when cleared (less the committee's share after a dispute),
    /// else back to the challenger.
    function _payBond(
        StoredChallenge storage c,
        address node,
        bool cleared,
        bool disputed,
        uint256 share
    ) internal returns (address bondTo) {
        uint256 bond = _bondAt[c.bondVersion];
        bondTo = cleared ? node : c.challenger;
        uint256 toCommittee = cleared && disputed ? (bond * share) / 10_000 : 0;
        _creditBond(bondTo, bond - toCommittee);
        if (toCommittee != 0) _creditBond(address(resolver), toCommittee);
    }

    /// @inheritdoc IChallengeGame
    function proveEquivocation(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        Encodings.Receipt calldata receipt,
        bytes calldata signature
    ) external nonReentrant {
        settlement.checkHeader(batchId, header);
        _verifyLeaf(batchId, header, leaf, proof);
        // INVARIANT: equivocation = the node signed a receipt for this ticket that the leaf contradicts.
        if (
            leaf.kind != Encodings.LEAF_TICKET ||
            receipt.ticket != leaf.ref ||
            (receipt.output == leaf.output && receipt.tokens == leaf.tokens)
        ) revert ChallengeNotEquivocation(batchId, leaf.index);
        address signer = ECDSA.recover(receiptDigest(receipt), signature);
        if (signer != header.node && signer != nodeRegistry.getNode(header.node).signer) {
            revert ChallengeBadReceiptSigner(signer);
        }
        uint256 slashed = settlement.voidBatch(batchId, header, msg.sender, VOID_EQUIVOCATION);
        emit EquivocationProven(batchId, leaf.index, msg.sender, slashed);
    }

    /// @inheritdoc IChallengeGame
    function proveTicketMismatch(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof,
        Encodings.Ticket calldata ticket,
        bytes calldata signature
    ) external nonReentrant {
        settlement.checkHeader(batchId, header);
        _verifyLeaf(batchId, header, leaf, proof);
        if (leaf.kind != Encodings.LEAF_TICKET) revert ChallengeNotEquivocation(batchId, leaf.index);
        bytes32 id = escrow.ticketId(ticket);
        if (id != leaf.ref) revert ChallengeNotEquivocation(batchId, leaf.index);
        if (!SignatureChecker.isValidSignatureNow(ticket.requester, id, signature)) {
            revert ChallengeBadTicketSignature(ticket.requester);
        }
        // INVARIANT: a ticket leaf restates its ticket and claims at most what the ticket allows.
        bool faithful =
            ticket.node == header.node &&
                ticket.requester == leaf.requester &&
                ticket.model == leaf.model &&
                ticket.adapter == leaf.adapter &&
                ticket.input == leaf.input &&
                ticket.profile == leaf.profile &&
                ticket.expiry == leaf.expiry &&
                leaf.tokens <= ticket.maxTokens &&
                leaf.amount <= uint256(leaf.tokens) * ticket.pricePerToken;
        if (faithful) revert ChallengeNotEquivocation(batchId, leaf.index);
        uint256 slashed = settlement.voidBatch(batchId, header, msg.sender, VOID_TICKET_MISMATCH);
        emit TicketMismatchProven(batchId, leaf.index, msg.sender, slashed);
    }

    // ------------------------------------------------------------------ credits and views

    /// @inheritdoc IChallengeGame
    function withdrawCredits() external nonReentrant returns (uint256 amount) {
        amount = creditOf[msg.sender];
        if (amount == 0) revert ChallengeNoCredits(msg.sender);
        creditOf[msg.sender] = 0;
        totalCredits -= amount;
        token.safeTransfer(msg.sender, amount);
        emit CreditsWithdrawn(msg.sender, amount);
    }

    /// @inheritdoc IChallengeGame
    function challengeOf(uint256 batchId, uint32 leafIndex) external view returns (Challenge memory) {
        StoredChallenge memory c = _challenges[batchId][leafIndex];
        return Challenge(c.challenger, c.kind, c.status, c.deadline, uint128(_bondAt[c.bondVersion]));
    }

    /// @inheritdoc IChallengeGame
    function commitOf(bytes32 commitment) external view returns (ChallengeCommit memory) {
        StoredCommit memory c = _commits[commitment];
        return
            ChallengeCommit(
                c.challenger,
                c.committedAt,
                uint128(c.challenger == address(0) ? 0 : _bondAt[c.bondVersion])
            );
    }

    /// @inheritdoc IChallengeGame
    function receiptDigest(Encodings.Receipt calldata receipt) public view returns (bytes32) {
        return _hashTypedDataV4(Encodings.hashReceipt(receipt));
    }

    function _creditBond(address to, uint256 bond) internal {
        if (bond == 0) return;
        bondsHeld -= bond;
        creditOf[to] += bond;
        totalCredits += bond;
    }

    function _verifyLeaf(
        uint256 batchId,
        IBatchSettlement.BatchHeader calldata header,
        Encodings.Leaf calldata leaf,
        bytes32[] calldata proof
    ) internal pure returns (bytes32 leafHash) {
        leafHash = Encodings.hashLeaf(leaf);
        if (!PositionalMerkle.verify(header.root, leafHash, leaf.index, header.leafCount, proof)) {
            revert ChallengeLeafProofInvalid(batchId, leaf.index);
        }
    }

    /// @dev The posted data must be exactly what the leaf committed to.
    function _checkData(uint256 batchId, Encodings.Leaf calldata leaf, LeafData calldata data) internal pure {
        // INVARIANT: the node cannot answer leaf i with another leaf's data.
        bytes32 inputHash = Encodings.hashInput(data.prompt, data.maxTokens, data.stop, data.seed);
        if (inputHash != leaf.input) revert ChallengeDataMismatch(batchId, leaf.index, leaf.input, inputHash);
        bytes32 outputHash = Encodings.hashOutput(leaf.profile, data.tokens);
        if (outputHash != leaf.output) revert ChallengeDataMismatch(batchId, leaf.index, leaf.output, outputHash);
        if (data.tokens.length != leaf.tokens) {
            revert ChallengeDataMismatch(
                batchId,
                leaf.index,
                bytes32(uint256(leaf.tokens)),
                bytes32(data.tokens.length)
            );
        }
    }
}
