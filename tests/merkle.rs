//! The RFC 6962 Merkle tree module: the public transparency-dev/merkle test vectors (plus the
//! corruptions their tests derive), and property tests of incremental appends over an
//! in-memory node store against the RFC definition.

use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use base64::Engine as _;
use proptest::prelude::*;
use serde::Deserialize;
use vhgate::disclosure::merkle::{
    append, consistency_proof, consistency_proof_nodes, empty_root, inclusion_proof,
    inclusion_proof_nodes, leaf_hash, node_hash, root, root_from_leaves, root_nodes,
    verify_consistency, verify_inclusion, Hash, NodeId, ProofError,
};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

type Store = HashMap<NodeId, Hash>;

fn flip(h: &Hash, bit: usize) -> Hash {
    let mut m = *h;
    m[bit / 8 % 32] ^= 1 << (bit % 8);
    m
}

fn bit_len(n: u64) -> usize {
    (64 - n.leading_zeros()) as usize
}

/// The leaves `[a, b)` a node covers.
fn coverage(id: NodeId) -> (u128, u128) {
    let start = u128::from(id.index) << id.level;
    (start, start + (1u128 << id.level))
}

/// Builds a store by appending `leaves` in chunks of the given sizes (the rest in one go),
/// checking each append against the RFC definition. Returns the store.
fn build(leaves: &[Hash], chunks: &[usize]) -> Store {
    let mut store = Store::new();
    let mut size = 0usize;
    let mut chunks = chunks.iter().copied();
    while size < leaves.len() || size == 0 {
        let take = chunks
            .next()
            .unwrap_or(leaves.len() - size)
            .min(leaves.len() - size);
        let needed: HashSet<NodeId> = root_nodes(size as u64).into_iter().collect();
        let asked = RefCell::new(Vec::new());
        let (created, new_root) = append(size as u64, &leaves[size..size + take], |id| {
            asked.borrow_mut().push(id);
            store.get(&id).copied()
        })
        .expect("append");
        // Append reads nothing but the frontier it documents.
        assert!(asked.borrow().iter().all(|id| needed.contains(id)));
        assert_eq!(new_root, root_from_leaves(&leaves[..size + take]));
        for (id, h) in created {
            // Every created node ends among the new leaves and is new.
            let (_, b) = coverage(id);
            assert!(b > size as u128 && b <= (size + take) as u128, "{id:?}");
            assert!(store.insert(id, h).is_none(), "{id:?} created twice");
        }
        size += take;
        if leaves.is_empty() {
            assert_eq!(new_root, empty_root());
            break;
        }
    }
    // The store holds exactly the perfect subtrees of the final tree, with the RFC hashes.
    let n = leaves.len() as u64;
    let expected: u64 = (0..64).map(|l| n >> l).sum();
    assert_eq!(store.len() as u64, expected);
    for (id, h) in &store {
        let (a, b) = coverage(*id);
        assert_eq!(
            *h,
            root_from_leaves(&leaves[a as usize..b as usize]),
            "{id:?}"
        );
    }
    store
}

/// What the RFC 9162 2.1.3.2 loop does for a proof of `len` hashes, on the integers alone:
/// `true` = proof hash on the left. `None` if the loop itself rejects. Two parameter sets with
/// the same trace hash identically, so a proof valid for one is valid for the other.
fn inclusion_trace(index: u64, size: u64, len: usize) -> Option<Vec<bool>> {
    if index >= size {
        return None;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut ops = Vec::new();
    for _ in 0..len {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            ops.push(true);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            ops.push(false);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(ops)
}

/// The same for the RFC 9162 2.1.4.2 consistency loop: whether root1 seeds the chain, and for
/// each further hash whether it feeds both roots (`true`) or only the new one.
fn consistency_trace(size1: u64, size2: u64, len: usize) -> Option<(bool, Vec<bool>)> {
    // The callers' honest proofs are non-empty, so equal sizes (which need an empty proof)
    // never share their hashing.
    if size1 == 0 || size2 <= size1 || len == 0 {
        return None;
    }
    let seeded = size1.is_power_of_two();
    let total = len + usize::from(seeded);
    let (mut f, mut s) = (size1 - 1, size2 - 1);
    while f & 1 == 1 {
        f >>= 1;
        s >>= 1;
    }
    let mut ops = Vec::new();
    for _ in 1..total {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            ops.push(true);
            if f & 1 == 0 {
                while f & 1 == 0 && f != 0 {
                    f >>= 1;
                    s >>= 1;
                }
            }
        } else {
            ops.push(false);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some((seeded, ops))
}

// ---------------------------------------------------------------------------------------------
// transparency-dev/merkle test vectors
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct InclusionCase {
    leaf_idx: u64,
    tree_size: u64,
    root: String,
    leaf_hash: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ConsistencyCase {
    size1: u64,
    size2: u64,
    root1: String,
    root2: String,
    proof: Option<Vec<String>>,
    desc: String,
    want_err: bool,
}

fn data_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/rfc6962")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).expect("read_dir") {
        let p = e.expect("entry").path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
    out.sort();
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

/// A leaf hash: upstream rejects one that is not 32 bytes before anything else, and our API
/// cannot even express one, so such a case counts as rejected.
fn strict(s: &str) -> Option<Hash> {
    b64(s).try_into().ok()
}

/// Proof hashes: upstream hashes whatever bytes it gets, so a non-32-byte element (the
/// "garbage" corruptions) becomes an opaque stand-in like a root does.
fn opaque_all(v: &Option<Vec<String>>) -> Vec<Hash> {
    v.iter().flatten().map(|s| opaque(s)).collect()
}

/// A root as upstream treats it: opaque bytes, only ever compared. Non-32-byte values
/// ("don't care 1", "WrongRoot", "") get a distinct 32-byte stand-in that preserves equality
/// and can never be a computed root.
fn opaque(s: &str) -> Hash {
    let bytes = b64(s);
    match <Hash>::try_from(bytes.as_slice()) {
        Ok(h) => h,
        Err(_) => node_hash(&leaf_hash(b"not a 32-byte root"), &leaf_hash(&bytes)),
    }
}

/// The leaves and roots of transparency-dev/merkle's proof/verify_test.go.
fn upstream_tree() -> (Vec<Hash>, Store) {
    let leaves: Vec<Hash> = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|h| leaf_hash(&hex::decode(h).expect("hex")))
    .collect();
    let roots = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];
    for (i, r) in roots.iter().enumerate() {
        assert_eq!(
            hex::encode(root_from_leaves(&leaves[..=i])),
            *r,
            "size {}",
            i + 1
        );
    }
    let store = build(&leaves, &[1, 2, 1, 3]);
    (leaves, store)
}

/// How many corruptions ran, and how many of them were size changes that verified anyway.
#[derive(Default)]
struct Tally {
    probes: usize,
    size_passes: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Tally) {
        self.probes += o.probes;
        self.size_passes += o.size_passes;
    }
}

/// One inclusion verification's inputs.
#[derive(Clone)]
struct Incl {
    leaf: Hash,
    index: u64,
    size: u64,
    proof: Vec<Hash>,
    root: Hash,
}

/// transparency-dev/merkle's "abacaba..." arbitrary hash.
fn some_hash() -> Hash {
    let v = hex::decode("abacaba000000000000000000000000000000000000000000060061e00123456");
    v.expect("hex").try_into().expect("32 bytes")
}

/// The corruptions transparency-dev/merkle's corruptInclusionProof derives, with every
/// single-bit flip (of leaf, root, proof hashes and index) instead of one. All must fail.
/// Size bits are checked against the path shape (see [`inclusion_trace`]).
fn corrupt_inclusion(good: &Incl) -> Tally {
    let mut probes: Vec<(String, Incl)> = Vec::new();
    let mut add = |desc: String, f: &dyn Fn(&mut Incl)| {
        let mut p = good.clone();
        f(&mut p);
        probes.push((desc, p));
    };
    let root = good.root;
    let n = good.proof.len();
    add("index - 1".into(), &|p| p.index = p.index.wrapping_sub(1));
    add("index + 1".into(), &|p| p.index += 1);
    add("index ^ 2".into(), &|p| p.index ^= 2);
    add("size * 2".into(), &|p| p.size *= 2);
    add("size / 2".into(), &|p| p.size /= 2);
    add("wrong leaf".into(), &|p| p.leaf = leaf_hash(b"WrongLeaf"));
    add("empty root".into(), &|p| p.root = empty_root());
    add("random root".into(), &|p| p.root = some_hash());
    add("trailing zeros".into(), &|p| p.proof.push([0; 32]));
    add("trailing root".into(), &|p| p.proof.push(root));
    add("preceding zeros".into(), &|p| p.proof.insert(0, [0; 32]));
    add("preceding root".into(), &|p| p.proof.insert(0, root));
    if n > 0 {
        add("removed component".into(), &|p| p.proof.truncate(n - 1));
    }
    if n > 1 {
        add("inserted component".into(), &|p| {
            p.proof.insert(1, some_hash())
        });
    }
    for bit in 0..256 {
        add(format!("leaf bit {bit}"), &|p| p.leaf = flip(&p.leaf, bit));
        add(format!("root bit {bit}"), &|p| p.root = flip(&p.root, bit));
        for i in 0..n {
            add(format!("proof[{i}] bit {bit}"), &|p| {
                p.proof[i] = flip(&p.proof[i], bit)
            });
        }
    }
    for bit in 0..64 {
        add(format!("index bit {bit}"), &|p| p.index ^= 1 << bit);
    }
    for (desc, p) in &probes {
        assert!(
            verify_inclusion(&p.leaf, p.index, p.size, &p.proof, &p.root).is_err(),
            "inclusion ({}, {}) verified with {desc}",
            good.index,
            good.size
        );
    }
    let mut tally = Tally {
        probes: probes.len(),
        size_passes: 0,
    };
    // A size with the same path shape verifies (see verify_inclusion's doc); no other does.
    let honest = inclusion_trace(good.index, good.size, n);
    for bit in 0..64 {
        let size = good.size ^ (1 << bit);
        let same = inclusion_trace(good.index, size, n) == honest;
        let ok = verify_inclusion(&good.leaf, good.index, size, &good.proof, &root).is_ok();
        assert_eq!(ok, same, "({}, {}) -> size {size}", good.index, good.size);
        tally.probes += 1;
        tally.size_passes += usize::from(ok);
    }
    tally
}

/// One consistency verification's inputs.
#[derive(Clone)]
struct Cons {
    size1: u64,
    size2: u64,
    proof: Vec<Hash>,
    root1: Hash,
    root2: Hash,
}

/// The corruptions of corruptConsistencyProof, again with every single-bit flip; for a
/// non-empty proof. All must fail; size bits are checked as in [`size_bit_flips`].
fn corrupt_consistency(good: &Cons) -> Tally {
    let mut probes: Vec<(String, Cons)> = Vec::new();
    let mut add = |desc: String, f: &dyn Fn(&mut Cons)| {
        let mut p = good.clone();
        f(&mut p);
        probes.push((desc, p));
    };
    let (r1, r2, n) = (good.root1, good.root2, good.proof.len());
    let first = good.proof[0];
    add("size1 - 1".into(), &|p| p.size1 = p.size1.wrapping_sub(1));
    add("size1 + 1".into(), &|p| p.size1 += 1);
    add("size1 ^ 2".into(), &|p| p.size1 ^= 2);
    add("size2 * 2".into(), &|p| p.size2 *= 2);
    add("size2 / 2".into(), &|p| p.size2 /= 2);
    add("wrong root1".into(), &|p| p.root1 = leaf_hash(b"WrongRoot"));
    add("wrong root2".into(), &|p| p.root2 = leaf_hash(b"WrongRoot"));
    add("swapped roots".into(), &|p| (p.root1, p.root2) = (r2, r1));
    add("empty proof".into(), &|p| p.proof.clear());
    add("trailing zeros".into(), &|p| p.proof.push([0; 32]));
    add("trailing root1".into(), &|p| p.proof.push(r1));
    add("trailing root2".into(), &|p| p.proof.push(r2));
    add("preceding zeros".into(), &|p| p.proof.insert(0, [0; 32]));
    add("preceding root1".into(), &|p| p.proof.insert(0, r1));
    add("preceding root2".into(), &|p| p.proof.insert(0, r2));
    add("preceding proof[0]".into(), &|p| p.proof.insert(0, first));
    add("truncated proof".into(), &|p| p.proof.truncate(n - 1));
    for bit in 0..256 {
        add(format!("root1 bit {bit}"), &|p| {
            p.root1 = flip(&p.root1, bit)
        });
        add(format!("root2 bit {bit}"), &|p| {
            p.root2 = flip(&p.root2, bit)
        });
        for i in 0..n {
            add(format!("proof[{i}] bit {bit}"), &|p| {
                p.proof[i] = flip(&p.proof[i], bit)
            });
        }
    }
    for (desc, p) in &probes {
        assert!(
            verify_consistency(p.size1, p.size2, &p.proof, &p.root1, &p.root2).is_err(),
            "consistency ({}, {}) verified with {desc}",
            good.size1,
            good.size2
        );
    }
    let mut tally = Tally {
        probes: probes.len(),
        size_passes: 0,
    };
    tally += size_bit_flips(good);
    tally
}

/// Flips each bit of each size of a valid, non-trivial consistency proof: verification must
/// succeed exactly when the hashing is the same as for the true sizes.
fn size_bit_flips(good: &Cons) -> Tally {
    let len = good.proof.len();
    let honest = consistency_trace(good.size1, good.size2, len);
    let mut tally = Tally::default();
    for bit in 0..64 {
        for (s1, s2) in [
            (good.size1 ^ (1 << bit), good.size2),
            (good.size1, good.size2 ^ (1 << bit)),
        ] {
            let same = consistency_trace(s1, s2, len) == honest;
            let ok = verify_consistency(s1, s2, &good.proof, &good.root1, &good.root2).is_ok();
            assert_eq!(ok, same, "({}, {}) -> ({s1}, {s2})", good.size1, good.size2);
            tally.probes += 1;
            tally.size_passes += usize::from(ok);
        }
    }
    tally
}

/// Every vector file must be accepted or rejected as its `wantErr` says; each accepted one
/// with a non-empty proof is then corrupted every way upstream's tests do (and more), and
/// our prover must regenerate the accepted proofs byte for byte from upstream's leaves.
#[test]
fn upstream_vectors() {
    let (leaves, store) = upstream_tree();
    let lookup = |id: NodeId| store.get(&id).copied();

    let mut files = Vec::new();
    json_files(&data_dir().join("inclusion"), &mut files);
    let (mut ran, mut accepted, mut unrepresentable, mut regenerated) = (0, 0, 0, 0);
    let mut derived = Tally::default();
    for f in &files {
        let c: InclusionCase =
            serde_json::from_slice(&std::fs::read(f).expect("read")).expect("inclusion case");
        ran += 1;
        let name = format!("{} ({})", f.display(), c.desc);
        let Some(leaf) = strict(&c.leaf_hash) else {
            assert!(
                c.want_err,
                "{name}: a valid case with a non-32-byte leaf hash"
            );
            unrepresentable += 1;
            continue;
        };
        let good = Incl {
            leaf,
            index: c.leaf_idx,
            size: c.tree_size,
            proof: opaque_all(&c.proof),
            root: opaque(&c.root),
        };
        let res = verify_inclusion(&leaf, good.index, good.size, &good.proof, &good.root);
        assert_eq!(res.is_err(), c.want_err, "{name}: {res:?}");
        if c.want_err {
            continue;
        }
        accepted += 1;
        derived += corrupt_inclusion(&good);
        if good.size <= leaves.len() as u64 && leaf == leaves[good.index as usize] {
            assert_eq!(root(good.size, lookup), Ok(good.root), "{name}");
            let ours = inclusion_proof(good.index, good.size, lookup);
            assert_eq!(ours, Ok(good.proof), "{name}");
            regenerated += 1;
        }
    }
    eprintln!(
        "inclusion vectors: {ran} files, {accepted} accepted, {} rejected by the verifier, \
         {unrepresentable} by type (leaf hash not 32 bytes); {} derived corruptions \
         ({} size flips verified with an unchanged path shape); {regenerated} proofs regenerated",
        ran - accepted - unrepresentable,
        derived.probes,
        derived.size_passes
    );
    assert_eq!((ran, accepted, regenerated), (98, 6, 5));

    let mut files = Vec::new();
    json_files(&data_dir().join("consistency"), &mut files);
    let (mut ran, mut accepted, mut regenerated) = (0, 0, 0);
    let mut derived = Tally::default();
    for f in &files {
        let c: ConsistencyCase =
            serde_json::from_slice(&std::fs::read(f).expect("read")).expect("consistency case");
        ran += 1;
        let name = format!("{} ({})", f.display(), c.desc);
        let good = Cons {
            size1: c.size1,
            size2: c.size2,
            proof: opaque_all(&c.proof),
            root1: opaque(&c.root1),
            root2: opaque(&c.root2),
        };
        let res = verify_consistency(
            good.size1,
            good.size2,
            &good.proof,
            &good.root1,
            &good.root2,
        );
        assert_eq!(res.is_err(), c.want_err, "{name}: {res:?}");
        if c.want_err {
            continue;
        }
        accepted += 1;
        if !good.proof.is_empty() {
            derived += corrupt_consistency(&good);
        }
        if good.size2 <= leaves.len() as u64 && root(good.size2, lookup) == Ok(good.root2) {
            assert_eq!(root(good.size1, lookup), Ok(good.root1), "{name}");
            let ours = consistency_proof(good.size1, good.size2, lookup);
            assert_eq!(ours, Ok(good.proof), "{name}");
            regenerated += 1;
        }
    }
    eprintln!(
        "consistency vectors: {ran} files, {accepted} accepted, {} rejected; {} derived \
         corruptions ({} size flips verified with unchanged hashing); {regenerated} proofs \
         regenerated",
        ran - accepted,
        derived.probes,
        derived.size_passes
    );
    assert_eq!((ran, accepted, regenerated), (98, 6, 5));
}

// ---------------------------------------------------------------------------------------------
// Exhaustive small trees and error cases
// ---------------------------------------------------------------------------------------------

#[test]
fn every_proof_up_to_70_leaves() {
    let leaves: Vec<Hash> = (0u32..70).map(|i| leaf_hash(&i.to_be_bytes())).collect();
    let store = build(&leaves, &[3, 1, 7, 16]);
    let lookup = |id: NodeId| store.get(&id).copied();
    let roots: Vec<Hash> = (0..=leaves.len())
        .map(|n| root_from_leaves(&leaves[..n]))
        .collect();
    for n in 1..=leaves.len() as u64 {
        assert_eq!(root(n, lookup), Ok(roots[n as usize]));
        for i in 0..n {
            let proof = inclusion_proof(i, n, lookup).expect("proof");
            assert_eq!(
                verify_inclusion(&leaves[i as usize], i, n, &proof, &roots[n as usize]),
                Ok(())
            );
        }
        for m in 1..=n {
            let proof = consistency_proof(m, n, lookup).expect("proof");
            assert_eq!(
                verify_consistency(m, n, &proof, &roots[m as usize], &roots[n as usize]),
                Ok(()),
                "{m} {n}"
            );
        }
    }
}

#[test]
fn errors() {
    let leaves: Vec<Hash> = (0u8..5).map(|i| leaf_hash(&[i])).collect();
    let store = build(&leaves, &[]);
    let lookup = |id: NodeId| store.get(&id).copied();
    let r = root_from_leaves(&leaves);

    assert_eq!(root(0, |_| None), Ok(empty_root()));
    assert_eq!(
        root(5, |_| None),
        Err(ProofError::MissingNode(NodeId { level: 0, index: 4 }))
    );
    assert_eq!(
        inclusion_proof_nodes(5, 5),
        Err(ProofError::IndexOutOfRange { index: 5, size: 5 })
    );
    assert_eq!(
        inclusion_proof(0, 0, lookup),
        Err(ProofError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        consistency_proof_nodes(3, 2),
        Err(ProofError::SizeOrder { size1: 3, size2: 2 })
    );
    assert_eq!(consistency_proof(0, 5, lookup), Err(ProofError::EmptyTree));
    assert_eq!(consistency_proof(0, 0, lookup), Err(ProofError::EmptyTree));
    assert_eq!(consistency_proof(5, 5, lookup), Ok(vec![]));
    assert_eq!(
        verify_consistency(0, 5, &[], &empty_root(), &r),
        Err(ProofError::EmptyTree)
    );
    assert_eq!(
        verify_consistency(0, 0, &[], &empty_root(), &empty_root()),
        Err(ProofError::EmptyTree)
    );
    assert_eq!(verify_consistency(5, 5, &[], &r, &r), Ok(()));
    assert_eq!(
        verify_consistency(5, 5, &[r], &r, &r),
        Err(ProofError::WrongProofLength {
            expected: 0,
            got: 1
        })
    );

    let proof = inclusion_proof(2, 5, lookup).expect("proof");
    assert_eq!(verify_inclusion(&leaves[2], 2, 5, &proof, &r), Ok(()));
    assert_eq!(
        verify_inclusion(&leaves[2], 2, 5, &proof[..2], &r),
        Err(ProofError::WrongProofLength {
            expected: 3,
            got: 2
        })
    );
    assert_eq!(
        verify_inclusion(&leaves[1], 2, 5, &proof, &r),
        Err(ProofError::RootMismatch)
    );
    // The size is not bound by an inclusion proof: index 2 has the same path shape in trees
    // of 5 to 8 leaves (the root, signed together with the size, is what binds it).
    for size in 5..=8 {
        assert_eq!(verify_inclusion(&leaves[2], 2, size, &proof, &r), Ok(()));
    }
    assert!(verify_inclusion(&leaves[2], 2, 4, &proof, &r).is_err());
    assert!(verify_inclusion(&leaves[2], 2, 9, &proof, &r).is_err());

    // A missing node is reported, not papered over.
    let partial: Store = store
        .iter()
        .filter(|(id, _)| id.level != 2)
        .map(|(id, h)| (*id, *h))
        .collect();
    assert_eq!(
        inclusion_proof(4, 5, |id| partial.get(&id).copied()),
        Err(ProofError::MissingNode(NodeId { level: 2, index: 0 }))
    );
    assert_eq!(
        append(5, &leaves, |id| partial.get(&id).copied()).map(|r| r.1),
        Err(ProofError::MissingNode(NodeId { level: 2, index: 0 }))
    );
    // Appending nothing returns the current root and stores nothing.
    assert_eq!(append(5, &[], lookup), Ok((vec![], r)));
    assert_eq!(append(0, &[], |_| None), Ok((vec![], empty_root())));
}

// ---------------------------------------------------------------------------------------------
// Property tests
// ---------------------------------------------------------------------------------------------

/// Distinct entries (the index is part of each), so no two subtrees hash alike.
fn entries() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..12), 0..=300).prop_map(|v| {
        v.into_iter()
            .enumerate()
            .map(|(i, tail)| [&(i as u32).to_be_bytes()[..], &tail].concat())
            .collect()
    })
}

fn check_nodes(ids: &[NodeId], size: u64, store: &Store, extra: usize) {
    assert!(
        ids.len() <= 2 * bit_len(size) + extra,
        "{} nodes for {size}",
        ids.len()
    );
    let unique: HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "duplicate node ids");
    for id in ids {
        assert!(store.contains_key(id), "{id:?} is not stored");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn appends_and_proofs(
        entries in entries(),
        chunks in prop::collection::vec(1usize..64, 0..40),
        seed in any::<u64>(),
    ) {
        let leaves: Vec<Hash> = entries.iter().map(|e| leaf_hash(e)).collect();
        let store = build(&leaves, &chunks);
        let n = leaves.len() as u64;
        let reference = root_from_leaves(&leaves);
        let asked = RefCell::new(HashSet::new());
        let lookup = |id: NodeId| {
            asked.borrow_mut().insert(id);
            store.get(&id).copied()
        };
        prop_assert_eq!(root(n, lookup), Ok(reference));
        check_nodes(&root_nodes(n), n, &store, 0);

        // A cheap deterministic stream of bit positions from the seed.
        let mut x = seed | 1;
        let mut next = move || { x ^= x << 13; x ^= x >> 7; x ^= x << 17; x };
        let full = if n > 0 { next() % n } else { 0 };

        for i in 0..n {
            let ids = inclusion_proof_nodes(i, n).expect("nodes");
            check_nodes(&ids, n, &store, 0);
            asked.borrow_mut().clear();
            let proof = inclusion_proof(i, n, lookup).expect("proof");
            // The prover reads only the nodes it announced.
            prop_assert!(asked.borrow().iter().all(|id| ids.contains(id)));
            let leaf = &leaves[i as usize];
            prop_assert_eq!(verify_inclusion(leaf, i, n, &proof, &reference), Ok(()));

            let entry = &entries[i as usize];
            let bits: Vec<usize> = if i == full {
                (0..entry.len() * 8).collect()
            } else {
                vec![(next() % (entry.len() as u64 * 8)) as usize]
            };
            for b in bits {
                let mut e = entry.clone();
                e[b / 8] ^= 1 << (b % 8);
                prop_assert!(verify_inclusion(&leaf_hash(&e), i, n, &proof, &reference).is_err());
            }
            for k in 0..proof.len() {
                let bits: Vec<usize> =
                    if i == full { (0..256).collect() } else { vec![(next() % 256) as usize] };
                for b in bits {
                    let mut p = proof.clone();
                    p[k] = flip(&p[k], b);
                    prop_assert!(verify_inclusion(leaf, i, n, &p, &reference).is_err());
                }
            }
            prop_assert!(verify_inclusion(leaf, i, n, &proof, &flip(&reference, (next() % 256) as usize)).is_err());
            for b in 0..64 {
                prop_assert!(verify_inclusion(leaf, i ^ (1 << b), n, &proof, &reference).is_err());
                // A size with the same path shape verifies; any other fails.
                let s = n ^ (1 << b);
                let same = inclusion_trace(i, s, proof.len()) == inclusion_trace(i, n, proof.len());
                prop_assert_eq!(verify_inclusion(leaf, i, s, &proof, &reference).is_ok(), same);
            }
        }

        // Consistency: every pair for small trees, 64 random pairs otherwise.
        let pairs: Vec<(u64, u64)> = if n <= 24 {
            (1..=n).flat_map(|b| (1..=b).map(move |a| (a, b))).collect()
        } else {
            (0..64).map(|_| {
                let b = 1 + next() % n;
                (1 + next() % b, b)
            }).collect()
        };
        for (a, b) in pairs {
            let ids = consistency_proof_nodes(a, b).expect("nodes");
            check_nodes(&ids, b, &store, 1);
            asked.borrow_mut().clear();
            let proof = consistency_proof(a, b, lookup).expect("proof");
            prop_assert!(asked.borrow().iter().all(|id| ids.contains(id)));
            let (r1, r2) = (root_from_leaves(&leaves[..a as usize]), root_from_leaves(&leaves[..b as usize]));
            prop_assert_eq!(verify_consistency(a, b, &proof, &r1, &r2), Ok(()));
            if a == b {
                prop_assert!(proof.is_empty());
                continue;
            }
            for k in 0..proof.len() {
                let mut p = proof.clone();
                p[k] = flip(&p[k], (next() % 256) as usize);
                prop_assert!(verify_consistency(a, b, &p, &r1, &r2).is_err());
            }
            prop_assert!(verify_consistency(a, b, &proof, &flip(&r1, (next() % 256) as usize), &r2).is_err());
            prop_assert!(verify_consistency(a, b, &proof, &r1, &flip(&r2, (next() % 256) as usize)).is_err());
            prop_assert!(verify_consistency(a, b, &proof[1..], &r1, &r2).is_err());
            prop_assert!(verify_consistency(a, b, &[&proof[..], &[r2]].concat(), &r1, &r2).is_err());
            size_bit_flips(&Cons { size1: a, size2: b, proof, root1: r1, root2: r2 });
        }
    }

    /// Sizes anywhere in u64 (see [`check_huge`]).
    #[test]
    fn huge_trees(
        size in prop_oneof![
            any::<u64>(),
            (u64::MAX - 300)..=u64::MAX,
            (1u64 << 63) - 5..(1u64 << 63) + 5,
        ],
        a in any::<u64>(),
        b in any::<u64>(),
        grow in 0u64..40,
    ) {
        let size = size.max(1);
        check_huge(size, a % size, 1 + b % size, grow.min(size));
    }
}

/// A virtual tree whose leaves are all equal, so a perfect node's hash depends only on its
/// level: lets trees of up to 2^64 - 1 leaves be checked without storing them.
fn uniform_levels() -> Vec<Hash> {
    let mut levels = vec![leaf_hash(b"same")];
    for l in 0..64 {
        let h = node_hash(&levels[l], &levels[l]);
        levels.push(h);
    }
    levels
}

/// The lookup over the uniform tree of `size` leaves: only its perfect subtrees exist.
fn uniform_store(levels: &[Hash], size: u64) -> impl Fn(NodeId) -> Option<Hash> + Copy + '_ {
    move |id: NodeId| {
        (id.level < 64 && coverage(id).1 <= u128::from(size)).then(|| levels[id.level as usize])
    }
}

/// For a uniform tree of `size` leaves: no overflow anywhere, node lists that are bounded and
/// stay inside the tree, proofs that verify, and an append of the last `grow` leaves.
fn check_huge(size: u64, index: u64, size1: u64, grow: u64) {
    let levels = uniform_levels();
    let inside = |ids: &[NodeId]| ids.iter().all(|id| coverage(*id).1 <= u128::from(size));
    let r = root(size, uniform_store(&levels, size)).expect("root");
    assert!(root_nodes(size).len() <= 64);

    let ids = inclusion_proof_nodes(index, size).expect("nodes");
    assert!(ids.len() <= 2 * bit_len(size) && inside(&ids), "{ids:?}");
    let proof = inclusion_proof(index, size, uniform_store(&levels, size)).expect("proof");
    assert!(proof.len() <= 64);
    assert_eq!(
        verify_inclusion(&levels[0], index, size, &proof, &r),
        Ok(())
    );

    let ids = consistency_proof_nodes(size1, size).expect("nodes");
    assert!(
        ids.len() <= 2 * bit_len(size) + 1 && inside(&ids),
        "{ids:?}"
    );
    let proof = consistency_proof(size1, size, uniform_store(&levels, size)).expect("proof");
    let r1 = root(size1, uniform_store(&levels, size1)).expect("root");
    assert_eq!(verify_consistency(size1, size, &proof, &r1, &r), Ok(()));

    let before = size - grow;
    let new = vec![levels[0]; grow as usize];
    let (created, grown) = append(before, &new, uniform_store(&levels, before)).expect("append");
    assert_eq!(grown, r);
    for (id, h) in created {
        let (_, end) = coverage(id);
        assert!(
            end > u128::from(before) && end <= u128::from(size),
            "{id:?}"
        );
        assert_eq!(h, levels[id.level as usize]);
    }
}

#[test]
fn edges_of_u64() {
    let top = 1u64 << 63;
    for size in [u64::MAX, u64::MAX - 1, top + 1, top, top - 1, 3, 2, 1] {
        for index in [0, 1, size / 2, size.saturating_sub(2), size - 1] {
            for size1 in [1, 2, top - 1, top, top + 1, size - 1, size] {
                if index < size && size1 >= 1 && size1 <= size {
                    check_huge(size, index, size1, 3.min(size));
                }
            }
        }
    }
    let leaf = leaf_hash(b"x");
    assert_eq!(
        append(u64::MAX - 1, &[leaf; 2], |_| None).map(|r| r.1),
        Err(ProofError::TooLarge)
    );
}
