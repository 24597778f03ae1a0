// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// @title AnchorRegistry: Merkle roots of agri-mrv ledger batches, one per batch, forever.
/// @notice Only roots go on chain: the ledger records (and every farmer reference in them) stay
///         off chain. A batch id can be anchored once; a second anchor for the same batch id is
///         refused, which makes a retried transaction harmless (idempotency key on chain too).
contract AnchorRegistry {
    struct Anchor {
        bytes32 root;
        uint64 recordCount;
        uint64 blockNumber;
        uint64 timestamp;
    }

    address public immutable owner;
    mapping(bytes32 => Anchor) private anchors;

    event RootAnchored(bytes32 indexed batchId, bytes32 indexed root, uint64 recordCount);

    error NotOwner();
    error EmptyRoot();
    error AlreadyAnchored(bytes32 batchId, bytes32 root);

    constructor() {
        owner = msg.sender;
    }

    /// @notice Store `root` for `batchId`; only the deployer (the ledger writer's key) may call it.
    function anchor(bytes32 batchId, bytes32 root, uint64 recordCount) external {
        if (msg.sender != owner) revert NotOwner();
        if (root == bytes32(0)) revert EmptyRoot();
        Anchor storage existing = anchors[batchId];
        if (existing.root != bytes32(0)) revert AlreadyAnchored(batchId, existing.root);
        anchors[batchId] = Anchor(root, recordCount, uint64(block.number), uint64(block.timestamp));
        emit RootAnchored(batchId, root, recordCount);
    }

    /// @notice The anchored root of `batchId` (zero if none), with its size, block and time.
    function rootOf(bytes32 batchId)
        external
        view
        returns (bytes32 root, uint64 recordCount, uint64 blockNumber, uint64 timestamp)
    {
        Anchor storage a = anchors[batchId];
        return (a.root, a.recordCount, a.blockNumber, a.timestamp);
    }
}
