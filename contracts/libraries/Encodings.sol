// SPDX-License-Identifier: MIT
pragma solidity 0.8.34;

/// @title Encodings
/// @notice The protocol's hashes, typed messages and Merkle leaves, exactly as spec/encodings.md
/// defines them. agents/lib/encodings.ts is the TypeScript side; both are checked against
/// spec/vectors.json. Every struct hash is EIP-712 `hashStruct`; signed messages (Ticket, Receipt,
/// Voucher) are EIP-712 digests under the domain {name "LLMarket", version "1", chainId,
/// verifyingContract}, computed by the verifying contract with OpenZeppelin's EIP712.
library Encodings {
    /// @notice A direct-request ticket, signed by the requester.
    struct Ticket {
        address requester;
        address node;
        bytes32 model;
        bytes32 adapter;
        bytes32 input;
        uint32 maxTokens;
        uint256 pricePerToken;
        uint64 sequence;
        uint64 expiry;
        bytes32 profile;
    }

    /// @notice A node's receipt at the end of a stream, signed by the node's signing key.
    struct Receipt {
        bytes32 ticket;
        bytes32 output;
        uint32 tokens;
    }

    /// @notice A requester's cumulative voucher for one (requester, node) pair.
    struct Voucher {
        address requester;
        address node;
        uint256 cumulativeAmount;
        uint64 throughSequence;
    }

    /// @notice One settled job inside a batch.
    struct Leaf {
        uint32 index;
        uint8 kind;
        bytes32 ref;
        address requester;
        bytes32 model;
        bytes32 adapter;
        bytes32 input;
        bytes32 output;
        uint32 tokens;
        uint256 amount;
        uint64 expiry;
        bytes32 profile;
    }

    /// @notice How a validator judges a leaf (spec/encodings.md, "Profile").
    struct VerificationRule {
        uint8 mode;
        uint32 exactBelowTokens;
        uint32 topK;
        uint32 maxMissBps;
        int32 minMeanLogProbMicro;
    }

    /// @notice The sampler a profile pins (per-request seeds live in the input).
    struct Sampler {
        uint8 kind;
        uint32 temperatureMilli;
        uint32 topK;
        uint32 topPMilli;
        uint32 minPMilli;
        uint32 repeatPenaltyMilli;
        uint32 repeatLastN;
        uint32 frequencyPenaltyMilli;
        uint32 presencePenaltyMilli;
    }

    /// @notice A determinism profile: everything that must match for exact re-generation.
    struct Profile {
        bytes32 model;
        bytes32 adapter;
        string llamaBuild;
        string cpuVariant;
        uint32 threads;
        uint32 batchSize;
        uint32 contextSize;
        bool flashAttention;
        bool freshSequence;
        Sampler sampler;
        bytes32 chatTemplate;
        VerificationRule verification;
    }

    /// @notice Leaf kinds: what `Leaf.ref` names.
    uint8 internal constant LEAF_TICKET = 0;
    uint8 internal constant LEAF_AUCTION = 1;

    /// @notice Challenge kinds.
    uint8 internal constant CHALLENGE_DATA = 0;
    uint8 internal constant CHALLENGE_WRONG_OUTPUT = 1;

    bytes32 internal constant TICKET_TYPEHASH = keccak256(
        "Ticket(address requester,address node,bytes32 model,bytes32 adapter,bytes32 input,uint32 maxTokens,"
        "uint256 pricePerToken,uint64 sequence,uint64 expiry,bytes32 profile)"
    );
    bytes32 internal constant RECEIPT_TYPEHASH = keccak256("Receipt(bytes32 ticket,bytes32 output,uint32 tokens)");
    bytes32 internal constant VOUCHER_TYPEHASH = keccak256(
        "Voucher(address requester,address node,uint256 cumulativeAmount,uint64 throughSequence)"
    );
    bytes32 internal constant INPUT_TYPEHASH = keccak256(
        "Input(string prompt,uint32 maxTokens,string[] stop,uint64 seed)"
    );
    bytes32 internal constant OUTPUT_TYPEHASH = keccak256("Output(bytes32 profile,uint32[] tokens)");
    bytes32 internal constant SAMPLER_TYPEHASH = keccak256(
        "Sampler(uint8 kind,uint32 temperatureMilli,uint32 topK,uint32 topPMilli,uint32 minPMilli,"
        "uint32 repeatPenaltyMilli,uint32 repeatLastN,uint32 frequencyPenaltyMilli,uint32 presencePenaltyMilli)"
    );
    bytes32 internal constant VERIFICATION_RULE_TYPEHASH = keccak256(
        "VerificationRule(uint8 mode,uint32 exactBelowTokens,uint32 topK,uint32 maxMissBps,"
        "int32 minMeanLogProbMicro)"
    );
    bytes32 internal constant PROFILE_TYPEHASH = keccak256(
        "Profile(bytes32 model,bytes32 adapter,string llamaBuild,string cpuVariant,uint32 threads,"
        "uint32 batchSize,uint32 contextSize,bool flashAttention,bool freshSequence,Sampler sampler,"
        "bytes32 chatTemplate,VerificationRule verification)"
        "Sampler(uint8 kind,uint32 temperatureMilli,uint32 topK,uint32 topPMilli,uint32 minPMilli,"
        "uint32 repeatPenaltyMilli,uint32 repeatLastN,uint32 frequencyPenaltyMilli,uint32 presencePenaltyMilli)"
        "VerificationRule(uint8 mode,uint32 exactBelowTokens,uint32 topK,uint32 maxMissBps,"
        "int32 minMeanLogProbMicro)"
    );
    bytes32 internal constant LEAF_TYPEHASH = keccak256(
        "Leaf(uint32 index,uint8 kind,bytes32 ref,address requester,bytes32 model,bytes32 adapter,bytes32 input,"
        "bytes32 output,uint32 tokens,uint256 amount,uint64 expiry,bytes32 profile)"
    );
    bytes32 internal constant BID_TYPEHASH = keccak256(
        "BidCommitment(uint256 jobId,address bidder,uint256 pricePerToken,bytes32 salt)"
    );
    bytes32 internal constant CHALLENGE_TYPEHASH = keccak256(
        "ChallengeCommitment(uint256 batchId,uint32 leafIndex,uint8 kind,address challenger,bytes32 salt)"
    );
    bytes32 internal constant VOTE_TYPEHASH = keccak256(
        "VoteCommitment(uint256 disputeId,address voter,bool guilty,bytes32 salt)"
    );

    /// @notice EIP-712 struct hash of a ticket (wrap with the domain to get the signed digest).
    function hashTicket(Ticket memory t) internal pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    TICKET_TYPEHASH,
                    t.requester,
                    t.node,
                    t.model,
                    t.adapter,
                    t.input,
                    t.maxTokens,
                    t.pricePerToken,
                    t.sequence,
                    t.expiry,
                    t.profile
                )
            );
    }

    /// @notice EIP-712 struct hash of a receipt.
    function hashReceipt(Receipt memory r) internal pure returns (bytes32) {
        return keccak256(abi.encode(RECEIPT_TYPEHASH, r.ticket, r.output, r.tokens));
    }

    /// @notice EIP-712 struct hash of a voucher.
    function hashVoucher(Voucher memory v) internal pure returns (bytes32) {
        return keccak256(abi.encode(VOUCHER_TYPEHASH, v.requester, v.node, v.cumulativeAmount, v.throughSequence));
    }

    /// @notice inputHash: the rendered prompt, maxTokens, stop strings and sampling seed.
    function hashInput(
        string calldata prompt,
        uint32 maxTokens,
        string[] calldata stop,
        uint64 seed
    ) internal pure returns (bytes32) {
        bytes32[] memory stopHashes = new bytes32[](stop.length);
        for (uint256 i = 0; i < stop.length; ++i) {
            stopHashes[i] = keccak256(bytes(stop[i]));
        }
        return
            keccak256(
                abi.encode(
                    INPUT_TYPEHASH,
                    keccak256(bytes(prompt)),
                    maxTokens,
                    keccak256(abi.encodePacked(stopHashes)),
                    seed
                )
            );
    }

    /// @notice outputHash: the profile hash and the generated token ids.
    /// @dev abi.encodePacked pads array elements to 32 bytes, which is EIP-712's array encoding.
    function hashOutput(bytes32 profile, uint32[] calldata tokens) internal pure returns (bytes32) {
        return keccak256(abi.encode(OUTPUT_TYPEHASH, profile, keccak256(abi.encodePacked(tokens))));
    }

    /// @notice profileHash: the EIP-712 struct hash of a determinism profile.
    function hashProfile(Profile memory p) internal pure returns (bytes32) {
        Sampler memory s = p.sampler;
        bytes32 samplerHash = keccak256(
            abi.encode(
                SAMPLER_TYPEHASH,
                s.kind,
                s.temperatureMilli,
                s.topK,
                s.topPMilli,
                s.minPMilli,
                s.repeatPenaltyMilli,
                s.repeatLastN,
                s.frequencyPenaltyMilli,
                s.presencePenaltyMilli
            )
        );
        VerificationRule memory v = p.verification;
        bytes32 ruleHash = keccak256(
            abi.encode(
                VERIFICATION_RULE_TYPEHASH,
                v.mode,
                v.exactBelowTokens,
                v.topK,
                v.maxMissBps,
                v.minMeanLogProbMicro
            )
        );
        return
            keccak256(
                bytes.concat(
                    abi.encode(
                        PROFILE_TYPEHASH,
                        p.model,
                        p.adapter,
                        keccak256(bytes(p.llamaBuild)),
                        keccak256(bytes(p.cpuVariant)),
                        p.threads,
                        p.batchSize,
                        p.contextSize
                    ),
                    abi.encode(p.flashAttention, p.freshSequence, samplerHash, p.chatTemplate, ruleHash)
                )
            );
    }

    /// @notice The Merkle leaf of one job.
    function hashLeaf(Leaf memory leaf) internal pure returns (bytes32) {
        return
            keccak256(
                bytes.concat(
                    abi.encode(
                        LEAF_TYPEHASH,
                        leaf.index,
                        leaf.kind,
                        leaf.ref,
                        leaf.requester,
                        leaf.model,
                        leaf.adapter
                    ),
                    abi.encode(leaf.input, leaf.output, leaf.tokens, leaf.amount, leaf.expiry, leaf.profile)
                )
            );
    }

    /// @notice The sealed-bid commitment of an auction bid.
    function bidCommitment(
        uint256 jobId,
        address bidder,
        uint256 pricePerToken,
        bytes32 salt
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(BID_TYPEHASH, jobId, bidder, pricePerToken, salt));
    }

    /// @notice The commitment of a challenge (commit-reveal, so it cannot be copied from the mempool).
    function challengeCommitment(
        uint256 batchId,
        uint32 leafIndex,
        uint8 kind,
        address challenger,
        bytes32 salt
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(CHALLENGE_TYPEHASH, batchId, leafIndex, kind, challenger, salt));
    }

    /// @notice The commitment of a committee vote.
    function voteCommitment(
        uint256 disputeId,
        address voter,
        bool guilty,
        bytes32 salt
    ) internal pure returns (bytes32) {
        return keccak256(abi.encode(VOTE_TYPEHASH, disputeId, voter, guilty, salt));
    }
}
