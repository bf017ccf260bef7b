//! The RFC 6962 / RFC 9162 Merkle tree over the disclosure log, independent of storage.
//!
//! Hashes: leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right), and the empty
//! tree is SHA-256(""). Proofs are exactly RFC 6962 `PATH` and `SUBPROOF`, so they verify with
//! any other implementation (transparency-dev/merkle, C2SP tlog-proof, ...).
//!
//! Storage holds only *perfect* subtrees ([`NodeId`]); a subtree on the right edge of a tree
//! that is not a power of two in size is recomputed from the perfect subtrees that make it up.
//! Every operation comes in two halves so a database can answer it with one query: a
//! `*_nodes` function names the O(log n) stored nodes it needs, and the assembling function
//! takes a lookup over what that query returned.

use ring::digest::{self, SHA256};

/// A SHA-256 hash: of a leaf, of an interior node, or of a whole tree.
pub type Hash = [u8; 32];

/// A perfect subtree: the `2^level` leaves `[index * 2^level, (index + 1) * 2^level)`.
/// Level 0 names the leaf hashes themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId {
    /// Height above the leaves; the subtree covers `2^level` leaves.
    pub level: u32,
    /// Position among the subtrees of the same level, counted from the left.
    pub index: u64,
}

/// Why a proof could not be built or did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ProofError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The requested leaf.
        index: u64,
        /// The tree size it was asked for.
        size: u64,
    },
    /// The second tree of a consistency proof is smaller than the first.
    #[error("tree size {size2} is smaller than the earlier size {size1}")]
    SizeOrder {
        /// The earlier tree size.
        size1: u64,
        /// The later tree size.
        size2: u64,
    },
    /// Consistency with the empty tree proves nothing (every tree extends it), so, as in
    /// transparency-dev/merkle, it is refused rather than answered with an empty proof.
    #[error("a consistency proof from the empty tree is meaningless")]
    EmptyTree,
    /// The proof has the wrong number of hashes for the given index and sizes.
    #[error("the proof has {got} hashes, expected {expected}")]
    WrongProofLength {
        /// What the index and sizes call for.
        expected: usize,
        /// What was supplied.
        got: usize,
    },
    /// The proof does not lead to the expected root (or, for consistency, to either root).
    #[error("the proof does not lead to the expected root hash")]
    RootMismatch,
    /// The lookup did not return a node the operation needs.
    #[error("merkle node (level {}, index {}) is missing", .0.level, .0.index)]
    MissingNode(NodeId),
    /// Appending would exceed 2^64 - 1 leaves.
    #[error("the tree would exceed 2^64 - 1 leaves")]
    TooLarge,
}

/// Copies a SHA-256 digest into a [`Hash`]; SHA-256 output is always 32 bytes.
fn to_hash(d: digest::Digest) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// RFC 6962 leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut ctx = digest::Context::new(&SHA256);
    ctx.update(&[0x00]);
    ctx.update(entry);
    to_hash(ctx.finish())
}

/// RFC 6962 interior node hash: SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    // One contiguous buffer on the stack: a single digest call, no heap.
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    to_hash(digest::digest(&SHA256, &buf))
}

/// The root hash of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    to_hash(digest::digest(&SHA256, b""))
}

/// Largest power of two strictly below `n`; requires `n >= 2`.
fn split_point(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

/// MTH(D[n]) computed straight from the RFC 6962 definition over all leaf hashes. Takes O(n)
/// time; it is the reference the stored-node functions are tested against.
pub fn root_from_leaves(leaf_hashes: &[Hash]) -> Hash {
    match leaf_hashes {
        [] => empty_root(),
        [leaf] => *leaf,
        _ => {
            // A slice never holds 2^64 elements, so the length fits; the split is the largest
            // power of two below it, as RFC 6962 section 2.1 prescribes.
            let k = split_point(leaf_hashes.len() as u64) as usize;
            node_hash(
                &root_from_leaves(&leaf_hashes[..k]),
                &root_from_leaves(&leaf_hashes[k..]),
            )
        }
    }
}

/// A subtree of the RFC 6962 tree: leaves `[start, end)`. It is either perfect or lies on the
/// right edge of a tree; in both cases `start` is a multiple of a power of two that is at
/// least `end - start`, so its binary decomposition consists of aligned perfect subtrees.
#[derive(Clone, Copy, Debug)]
struct Subtree {
    start: u64,
    end: u64,
}

/// The perfect subtrees that make up `t`, left (largest) to right (smallest).
fn pieces(t: Subtree) -> impl Iterator<Item = NodeId> {
    let mut pos = t.start;
    let mut rem = t.end - t.start;
    std::iter::from_fn(move || {
        if rem == 0 {
            return None;
        }
        let level = 63 - rem.leading_zeros();
        let node = NodeId {
            level,
            index: pos >> level,
        };
        // pos + 2^level <= end, so neither step overflows.
        pos += 1 << level;
        rem -= 1 << level;
        Some(node)
    })
}

/// MTH of `t` from its stored pieces. RFC 6962 splits off the largest power of two on the
/// left, so a right-edge subtree hashes as H(p0, H(p1, ... H(pk-1, pk))): fold from the right.
fn subtree_hash<F: Fn(NodeId) -> Option<Hash>>(t: Subtree, lookup: &F) -> Result<Hash, ProofError> {
    let mut end = t.end;
    let mut rem = t.end - t.start;
    let mut acc: Option<Hash> = None;
    while rem != 0 {
        let level = rem.trailing_zeros();
        end -= 1 << level;
        rem -= 1 << level;
        let id = NodeId {
            level,
            index: end >> level,
        };
        let h = lookup(id).ok_or(ProofError::MissingNode(id))?;
        acc = Some(match acc {
            None => h,
            Some(right) => node_hash(&h, &right),
        });
    }
    Ok(acc.unwrap_or_else(empty_root))
}

/// The subtrees whose hashes form PATH(index, D[size]), bottom-up (proof order).
fn inclusion_path(index: u64, size: u64) -> Result<Vec<Subtree>, ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let mut path = Vec::with_capacity(64);
    let (mut start, mut end) = (0u64, size);
    // Descend from the root as RFC 6962 2.1.1 does; the sibling of each step is a proof
    // element. Only the first step to the left can have a non-perfect sibling.
    while end - start > 1 {
        let k = split_point(end - start);
        if index < start + k {
            path.push(Subtree {
                start: start + k,
                end,
            });
            end = start + k;
        } else {
            path.push(Subtree {
                start,
                end: start + k,
            });
            start += k;
        }
    }
    path.reverse();
    Ok(path)
}

/// The subtrees whose hashes form PROOF(size1, D[size2]) = SUBPROOF(size1, D[size2], true),
/// bottom-up (proof order).
fn consistency_path(size1: u64, size2: u64) -> Result<Vec<Subtree>, ProofError> {
    if size1 > size2 {
        return Err(ProofError::SizeOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyTree);
    }
    let mut path = Vec::with_capacity(65);
    let (mut start, mut end) = (0u64, size2);
    // `whole` is SUBPROOF's b: still on the left edge, where the old root itself is known to
    // the verifier and need not be sent.
    let mut whole = true;
    // Invariant: start < size1 <= end, so the subtree has >= 2 leaves until size1 == end.
    while size1 != end {
        let k = split_point(end - start);
        if size1 <= start + k {
            path.push(Subtree {
                start: start + k,
                end,
            });
            end = start + k;
        } else {
            path.push(Subtree {
                start,
                end: start + k,
            });
            start += k;
            whole = false;
        }
    }
    if !whole {
        path.push(Subtree { start, end });
    }
    path.reverse();
    Ok(path)
}

/// Resolves each subtree of a path to its hash.
fn hashes<F: Fn(NodeId) -> Option<Hash>>(
    path: &[Subtree],
    lookup: &F,
) -> Result<Vec<Hash>, ProofError> {
    path.iter().map(|t| subtree_hash(*t, lookup)).collect()
}

/// The stored nodes a path needs, in path order (each subtree's pieces left to right).
fn path_nodes(path: &[Subtree]) -> Vec<NodeId> {
    path.iter().flat_map(|t| pieces(*t)).collect()
}

/// The perfect subtrees that make up the tree of `size` leaves, left to right: one per set
/// bit of `size`, largest first. Empty for the empty tree.
pub fn root_nodes(size: u64) -> Vec<NodeId> {
    pieces(Subtree {
        start: 0,
        end: size,
    })
    .collect()
}

/// The root hash of the tree of `size` leaves, from the nodes named by [`root_nodes`].
pub fn root(size: u64, lookup: impl Fn(NodeId) -> Option<Hash>) -> Result<Hash, ProofError> {
    subtree_hash(
        Subtree {
            start: 0,
            end: size,
        },
        &lookup,
    )
}

/// The stored nodes [`inclusion_proof`] needs: at most 2 * 64, no duplicates.
pub fn inclusion_proof_nodes(index: u64, size: u64) -> Result<Vec<NodeId>, ProofError> {
    Ok(path_nodes(&inclusion_path(index, size)?))
}

/// The RFC 6962 inclusion proof (audit path) of leaf `index` in the tree of `size` leaves,
/// from the nodes named by [`inclusion_proof_nodes`].
pub fn inclusion_proof(
    index: u64,
    size: u64,
    lookup: impl Fn(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    hashes(&inclusion_path(index, size)?, &lookup)
}

/// The stored nodes [`consistency_proof`] needs: at most 2 * 64 + 1, no duplicates.
pub fn consistency_proof_nodes(size1: u64, size2: u64) -> Result<Vec<NodeId>, ProofError> {
    Ok(path_nodes(&consistency_path(size1, size2)?))
}

/// The RFC 6962 consistency proof between the trees of `size1` and `size2` leaves, from the
/// nodes named by [`consistency_proof_nodes`]. Empty when the sizes are equal; an error when
/// `size1` is 0 (see [`ProofError::EmptyTree`]).
pub fn consistency_proof(
    size1: u64,
    size2: u64,
    lookup: impl Fn(NodeId) -> Option<Hash>,
) -> Result<Vec<Hash>, ProofError> {
    hashes(&consistency_path(size1, size2)?, &lookup)
}

/// Appends leaf hashes to the tree of `size_before` leaves. Needs the nodes
/// [`root_nodes`]`(size_before)` through `lookup`. Returns every perfect node that the new
/// leaves complete, to be stored (the level-0 leaf nodes included, children before parents),
/// and the root of the grown tree.
pub fn append(
    size_before: u64,
    new_leaves: &[Hash],
    lookup: impl Fn(NodeId) -> Option<Hash>,
) -> Result<(Vec<(NodeId, Hash)>, Hash), ProofError> {
    let count = u64::try_from(new_leaves.len()).map_err(|_| ProofError::TooLarge)?;
    size_before.checked_add(count).ok_or(ProofError::TooLarge)?;

    // The right frontier: the perfect subtrees of the current tree as (level, hash), levels
    // strictly decreasing. Adding a leaf works like incrementing a binary counter.
    let mut frontier: Vec<(u32, Hash)> = Vec::with_capacity(64);
    for id in root_nodes(size_before) {
        let h = lookup(id).ok_or(ProofError::MissingNode(id))?;
        frontier.push((id.level, h));
    }

    // n leaves complete fewer than 2n nodes.
    let mut created = Vec::with_capacity(new_leaves.len().saturating_mul(2));
    // Slice first: zip then never advances the range past the last leaf, which could
    // overflow at 2^64 - 1.
    for (leaf, pos) in new_leaves.iter().zip(size_before..) {
        created.push((
            NodeId {
                level: 0,
                index: pos,
            },
            *leaf,
        ));
        let (mut level, mut hash) = (0u32, *leaf);
        // Each trailing one bit of `pos` is a perfect left sibling of the same height.
        while let Some(&(top_level, left)) = frontier.last() {
            if top_level != level {
                break;
            }
            frontier.pop();
            hash = node_hash(&left, &hash);
            level += 1;
            // The merged node ends at leaf pos (inclusive), so it is number pos >> level.
            created.push((
                NodeId {
                    level,
                    index: pos >> level,
                },
                hash,
            ));
        }
        frontier.push((level, hash));
    }

    let root = frontier
        .iter()
        .rev()
        .map(|(_, h)| *h)
        .reduce(|right, left| node_hash(&left, &right))
        .unwrap_or_else(empty_root);
    Ok((created, root))
}

/// Length of PATH(index, D[size]) for `index < size`: the levels below the point where the
/// paths to `index` and to the last leaf part, plus one left sibling for each one bit of
/// `index` above it.
fn inclusion_len(index: u64, size: u64) -> usize {
    let inner = 64 - (index ^ (size - 1)).leading_zeros();
    // inner can be 64, and a 64-bit shift would overflow.
    let border = index.checked_shr(inner).unwrap_or(0).count_ones();
    (inner + border) as usize
}

/// Length of PROOF(size1, D[size2]) for `0 < size1 < size2`: the inclusion path of the last
/// old leaf minus the levels inside the largest perfect subtree ending there, plus that
/// subtree's own hash unless it is the whole old tree.
fn consistency_len(size1: u64, size2: u64) -> usize {
    let last = size1 - 1;
    let inner = 64 - (last ^ (size2 - 1)).leading_zeros();
    let border = last.checked_shr(inner).unwrap_or(0).count_ones();
    let shift = size1.trailing_zeros();
    let seed = usize::from(!size1.is_power_of_two());
    seed + (inner.saturating_sub(shift) + border) as usize
}

/// Verifies an RFC 6962 inclusion proof of the leaf hash `leaf` at `index` in the tree of
/// `size` leaves with root `root` (RFC 9162 section 2.1.3.2).
///
/// The proof binds the leaf and its index to the root, but not the exact size: a size with
/// the same path shape (e.g. 5, 6, 7 and 8 for index 2) verifies too. The size must come from
/// the signed checkpoint that carries `root`.
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_len(index, size);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        // Cannot trigger after the length check; kept so the loop is safe on its own.
        if s == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            // On the right edge a node without a right sibling is carried up unchanged.
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if r != *root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// Verifies an RFC 6962 consistency proof that the tree of `size2` leaves with root `root2`
/// extends the tree of `size1` leaves with root `root1` (RFC 9162 section 2.1.4.2).
///
/// Equal sizes need an empty proof and equal roots. `size1 == 0` is refused
/// ([`ProofError::EmptyTree`]), as in transparency-dev/merkle: every tree extends the empty
/// one, so a caller starting from nothing should skip the check rather than call this.
pub fn verify_consistency(
    size1: u64,
    size2: u64,
    proof: &[Hash],
    root1: &Hash,
    root2: &Hash,
) -> Result<(), ProofError> {
    if size2 < size1 {
        return Err(ProofError::SizeOrder { size1, size2 });
    }
    if size1 == 0 {
        return Err(ProofError::EmptyTree);
    }
    if size1 == size2 {
        if !proof.is_empty() {
            return Err(ProofError::WrongProofLength {
                expected: 0,
                got: proof.len(),
            });
        }
        if root1 != root2 {
            return Err(ProofError::RootMismatch);
        }
        return Ok(());
    }
    let expected = consistency_len(size1, size2);
    if proof.len() != expected {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    // Step 2: a power-of-two old tree is itself a node of the new one; the verifier knows its
    // hash, so the proof leaves it out and it is prepended here.
    let (seed, rest) = if size1.is_power_of_two() {
        (root1, proof)
    } else {
        match proof.split_first() {
            Some((first, rest)) => (first, rest),
            None => {
                return Err(ProofError::WrongProofLength { expected, got: 0 });
            }
        }
    };
    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        // Cannot trigger after the length check; kept so the loop is safe on its own.
        if s == 0 {
            return Err(ProofError::WrongProofLength {
                expected,
                got: proof.len(),
            });
        }
        if f & 1 == 1 || f == s {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            // A right sibling exists only in the new tree.
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongProofLength {
            expected,
            got: proof.len(),
        });
    }
    if fr != *root1 || sr != *root2 {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex32(s: &str) -> Hash {
        let v = hex::decode(s).expect("hex"); // invariant: test-only fixture
        v.try_into().expect("32 bytes") // invariant: test-only fixture
    }

    #[test]
    fn known_hashes() {
        assert_eq!(
            empty_root(),
            hex32("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        // RFC 6962 test leaf "" (transparency-dev/merkle roots[0]).
        assert_eq!(
            leaf_hash(b""),
            hex32("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
    }

    #[test]
    fn split_point_is_largest_power_below() {
        assert_eq!(split_point(2), 1);
        assert_eq!(split_point(3), 2);
        assert_eq!(split_point(4), 2);
        assert_eq!(split_point(5), 4);
        assert_eq!(split_point(u64::MAX), 1 << 63);
    }

    #[test]
    fn root_nodes_decompose_size() {
        assert!(root_nodes(0).is_empty());
        assert_eq!(
            root_nodes(13),
            vec![
                NodeId { level: 3, index: 0 },
                NodeId { level: 2, index: 2 },
                NodeId {
                    level: 0,
                    index: 12
                },
            ]
        );
        assert_eq!(root_nodes(u64::MAX).len(), 64);
    }

    #[test]
    fn lengths_match_paths() {
        for size2 in 1..70u64 {
            for i in 0..size2 {
                let path = inclusion_path(i, size2).expect("path"); // invariant: test-only, i < size2
                assert_eq!(inclusion_len(i, size2), path.len(), "incl {i} {size2}");
            }
            for size1 in 1..size2 {
                let path = consistency_path(size1, size2).expect("path"); // invariant: test-only, size1 <= size2
                assert_eq!(
                    consistency_len(size1, size2),
                    path.len(),
                    "cons {size1} {size2}"
                );
            }
        }
    }

    #[test]
    fn append_rejects_overflow_and_missing_nodes() {
        let leaf = leaf_hash(b"x");
        assert_eq!(
            append(u64::MAX, &[leaf], |_| Some(leaf)).map(|r| r.1),
            Err(ProofError::TooLarge)
        );
        assert_eq!(
            append(3, &[leaf], |_| None).map(|r| r.1),
            Err(ProofError::MissingNode(NodeId { level: 1, index: 0 }))
        );
    }
}
