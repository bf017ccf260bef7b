-- The disclosure log as a Merkle tree (RFC 6962 hashing). Leaf i is entry seq i+1. Only
-- perfect subtrees are stored (level 0 = leaf hashes; node (level, idx) covers leaves
-- [idx*2^level, (idx+1)*2^level)), so a proof needs O(log n) reads.
CREATE TABLE merkle_nodes (
    level BIGINT NOT NULL,
    idx   BIGINT NOT NULL,
    hash  BYTEA NOT NULL,
    PRIMARY KEY (level, idx)
);

-- Signed checkpoints (C2SP tlog-checkpoint), one per appended batch, signed in the same
-- transaction that extends the tree.
CREATE TABLE checkpoints (
    size      BIGINT PRIMARY KEY,
    root      BYTEA NOT NULL,
    note      TEXT NOT NULL,
    signed_at TIMESTAMPTZ NOT NULL
);

CREATE FUNCTION log_table_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER merkle_nodes_no_update BEFORE UPDATE OR DELETE ON merkle_nodes
    FOR EACH ROW EXECUTE FUNCTION log_table_append_only();
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION log_table_append_only();

-- Cosignatures that witnesses returned for our checkpoints (C2SP tlog-cosignature).
CREATE TABLE checkpoint_cosignatures (
    size        BIGINT NOT NULL REFERENCES checkpoints(size),
    witness     TEXT NOT NULL,
    signature   TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (size, witness)
);

-- Root of the tree of `seq` entries; SHA-256("") for the empty tree.
ALTER TABLE log_head ADD COLUMN root BYTEA;
UPDATE log_head SET root = decode('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', 'hex') WHERE seq = 0;
