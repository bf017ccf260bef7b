-- The disclosure log as a Merkle tree (RFC 6962 hashing). Leaf i is entry seq i+1. Only
-- perfect subtrees are stored (level 0 = leaf hashes; node (level, idx) covers leaves
-- [idx*2^level, (idx+1)*2^level)), so a proof needs O(log n) reads.
CREATE TABLE merkle_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'merkle_nodes is append-only'); END;
CREATE TRIGGER merkle_nodes_no_delete BEFORE DELETE ON merkle_nodes
BEGIN SELECT RAISE(ABORT, 'merkle_nodes is append-only'); END;

-- Signed checkpoints (C2SP tlog-checkpoint), one per appended batch, signed in the same
-- transaction that extends the tree.
CREATE TABLE checkpoints (
    size      INTEGER PRIMARY KEY,
    root      BLOB NOT NULL,
    note      TEXT NOT NULL,
    signed_at TEXT NOT NULL
);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only'); END;
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints is append-only'); END;

-- Cosignatures that witnesses returned for our checkpoints (C2SP tlog-cosignature).
CREATE TABLE checkpoint_cosignatures (
    size        INTEGER NOT NULL REFERENCES checkpoints(size),
    witness     TEXT NOT NULL,
    signature   TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (size, witness)
);

-- Root of the tree of `seq` entries; SHA-256("") for the empty tree.
ALTER TABLE log_head ADD COLUMN root BLOB;
UPDATE log_head SET root = X'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' WHERE seq = 0;
