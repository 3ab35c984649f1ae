//! The Merkle tree over the log, as RFC 9162 (Certificate Transparency 2.0) defines it, so a
//! signed checkpoint commits to every event before it and one event can be proven included
//! without revealing the others.
//!
//! Leaves are the events' leaf hashes (`chain.rs`). [`Frontier`] is the compact range that
//! an appender keeps: the roots of the perfect subtrees that make up a tree of `size` leaves,
//! largest first, enough to compute the root and to keep appending. It is stored with each
//! checkpoint, so pruning old events does not stop verification from carrying on.

use covault_crypto::sha256;

use crate::AuditError;

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut input = [0u8; 65];
    input[0] = 0x01;
    input[1..33].copy_from_slice(left);
    input[33..].copy_from_slice(right);
    sha256(&input)
}

/// The root of an empty tree: the hash of the empty string.
pub fn empty_root() -> [u8; 32] {
    sha256(&[])
}

/// The compact range of a tree: roots of its perfect subtrees, largest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    // INVARIANT: one entry per set bit of `size`, from the highest bit down.
    nodes: Vec<[u8; 32]>,
}

impl Frontier {
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Adds the next leaf.
    pub fn push(&mut self, leaf: [u8; 32]) {
        let mut node = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            // Every set low bit is a subtree of the same height as `node`: merge.
            if let Some(left) = self.nodes.pop() {
                node = node_hash(&left, &node);
            }
            size >>= 1;
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// The tree's root (RFC 9162 `MTH`).
    pub fn root(&self) -> [u8; 32] {
        let mut nodes = self.nodes.iter().rev();
        let Some(last) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// The stored form: the nodes concatenated.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.nodes.concat()
    }

    /// Rebuilds a frontier from its size and stored nodes.
    pub fn from_bytes(size: u64, bytes: &[u8]) -> Result<Self, AuditError> {
        let expected = size.count_ones() as usize;
        if bytes.len() != expected * 32 {
            return Err(AuditError::BadField {
                field: "frontier",
                why: format!(
                    "a tree of {size} events needs {expected} nodes, found {} bytes",
                    bytes.len()
                ),
            });
        }
        let nodes = bytes
            .chunks_exact(32)
            .map(|c| {
                let mut n = [0u8; 32];
                n.copy_from_slice(c);
                n
            })
            .collect();
        Ok(Self { size, nodes })
    }
}

/// The root of the tree over `leaves` (RFC 9162 `MTH`), recursively.
pub fn root_of(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n);
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The largest power of two smaller than `n` (n ≥ 2).
fn split_point(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// The audit path of leaf `index` in the tree over `leaves` (RFC 9162 `PATH`).
pub fn inclusion_proof(leaves: &[[u8; 32]], index: usize) -> Option<Vec<[u8; 32]>> {
    if index >= leaves.len() {
        return None;
    }
    let mut path = Vec::new();
    collect_path(leaves, index, &mut path);
    Some(path)
}

fn collect_path(leaves: &[[u8; 32]], index: usize, path: &mut Vec<[u8; 32]>) {
    let n = leaves.len();
    if n <= 1 {
        return;
    }
    let k = split_point(n);
    if index < k {
        collect_path(&leaves[..k], index, path);
        path.push(root_of(&leaves[k..]));
    } else {
        collect_path(&leaves[k..], index - k, path);
        path.push(root_of(&leaves[..k]));
    }
}

/// The audit path of leaf `index` in a tree whose first `prefix.size()` leaves survive only as
/// their compact range (after pruning) and whose remaining leaves are `rest`. `None` when the
/// leaf was pruned or lies beyond the tree.
pub fn inclusion_proof_after(
    prefix: &Frontier,
    rest: &[[u8; 32]],
    index: u64,
) -> Option<Vec<[u8; 32]>> {
    let split = prefix.size();
    let size = split + rest.len() as u64;
    if index < split || index >= size {
        return None;
    }
    let tree = PrunedTree {
        prefix: prefix.ranges(),
        split,
        rest,
    };
    let mut path = Vec::new();
    tree.path(0, size, index, &mut path)?;
    Some(path)
}

impl Frontier {
    /// `(start, size, root)` of each perfect subtree, in order.
    fn ranges(&self) -> Vec<(u64, u64, [u8; 32])> {
        let mut out = Vec::with_capacity(self.nodes.len());
        let mut start = 0u64;
        let mut bits = (0..64).rev().filter(|b| self.size >> b & 1 == 1);
        for node in &self.nodes {
            let Some(bit) = bits.next() else { break };
            out.push((start, 1u64 << bit, *node));
            start += 1u64 << bit;
        }
        out
    }
}

/// A tree of which only a compact range of the prefix and the leaves after it are known.
struct PrunedTree<'a> {
    prefix: Vec<(u64, u64, [u8; 32])>,
    split: u64,
    rest: &'a [[u8; 32]],
}

impl PrunedTree<'_> {
    /// `MTH` of leaves `lo..hi`.
    fn root(&self, lo: u64, hi: u64) -> Option<[u8; 32]> {
        if lo >= self.split {
            let (a, b) = (
                usize::try_from(lo - self.split).ok()?,
                usize::try_from(hi - self.split).ok()?,
            );
            return Some(root_of(self.rest.get(a..b)?));
        }
        if hi <= self.split {
            // Ranges wholly inside the pruned prefix that a proof needs are its subtrees.
            return self
                .prefix
                .iter()
                .find(|(start, size, _)| *start == lo && start + size == hi)
                .map(|(_, _, node)| *node);
        }
        let k = split_point(usize::try_from(hi - lo).ok()?) as u64;
        Some(node_hash(&self.root(lo, lo + k)?, &self.root(lo + k, hi)?))
    }

    fn path(&self, lo: u64, hi: u64, index: u64, out: &mut Vec<[u8; 32]>) -> Option<()> {
        if hi - lo <= 1 {
            return Some(());
        }
        let k = split_point(usize::try_from(hi - lo).ok()?) as u64;
        if index < lo + k {
            self.path(lo, lo + k, index, out)?;
            out.push(self.root(lo + k, hi)?);
        } else {
            self.path(lo + k, hi, index, out)?;
            out.push(self.root(lo, lo + k)?);
        }
        Some(())
    }
}

/// The consistency proof (RFC 9162 `PROOF(m, D[n])`) that the tree of the first `old_size`
/// leaves is a prefix of the tree of all `prefix.size() + rest.len()` leaves, where the first
/// `prefix.size()` leaves survive only as their compact range. `None` when `old_size` is 0,
/// lies inside the pruned prefix, or beyond the tree.
pub fn consistency_proof_after(
    prefix: &Frontier,
    rest: &[[u8; 32]],
    old_size: u64,
) -> Option<Vec<[u8; 32]>> {
    let split = prefix.size();
    let size = split + rest.len() as u64;
    if old_size == 0 || old_size < split || old_size > size {
        return None;
    }
    let tree = PrunedTree {
        prefix: prefix.ranges(),
        split,
        rest,
    };
    let mut proof = Vec::new();
    tree.subproof(old_size, 0, size, true, &mut proof)?;
    Some(proof)
}

impl PrunedTree<'_> {
    /// RFC 9162 `SUBPROOF(m, D[lo:hi], b)`.
    fn subproof(
        &self,
        m: u64,
        lo: u64,
        hi: u64,
        whole: bool,
        out: &mut Vec<[u8; 32]>,
    ) -> Option<()> {
        let n = hi - lo;
        if m == n {
            if !whole {
                out.push(self.root(lo, hi)?);
            }
            return Some(());
        }
        let k = split_point(usize::try_from(n).ok()?) as u64;
        if m <= k {
            self.subproof(m, lo, lo + k, whole, out)?;
            out.push(self.root(lo + k, hi)?);
        } else {
            self.subproof(m - k, lo + k, hi, false, out)?;
            out.push(self.root(lo, lo + k)?);
        }
        Some(())
    }
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2): is the tree of `old_size` leaves with
/// `old_root` a prefix of the tree of `new_size` leaves with `new_root`?
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &[u8; 32],
    new_root: &[u8; 32],
    proof: &[[u8; 32]],
) -> bool {
    if old_size == 0 || old_size > new_size {
        return false;
    }
    if old_size == new_size {
        return proof.is_empty() && old_root == new_root;
    }
    if proof.is_empty() {
        return false;
    }
    let mut path: Vec<[u8; 32]> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (path[0], path[0]);
    for c in &path[1..] {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    fr == *old_root && sr == *new_root && snode == 0
}

/// Checks an audit path (RFC 9162 §2.1.3.2): is `leaf` at `index` of a tree of `size`
/// leaves with this `root`?
pub fn verify_inclusion(
    leaf: &[u8; 32],
    index: u64,
    size: u64,
    path: &[[u8; 32]],
    root: &[u8; 32],
) -> bool {
    if index >= size {
        return false;
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if snode == 0 {
            return false;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    snode == 0 && r == *root
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<[u8; 32]> {
        (0..n).map(|i| sha256(&i.to_be_bytes())).collect()
    }

    #[test]
    fn frontier_matches_the_recursive_definition() {
        let all = leaves(70);
        let mut f = Frontier::default();
        assert_eq!(f.root(), empty_root());
        for (i, leaf) in all.iter().enumerate() {
            f.push(*leaf);
            assert_eq!(f.root(), root_of(&all[..=i]), "size {}", i + 1);
            let again = Frontier::from_bytes(f.size(), &f.to_bytes()).unwrap();
            assert_eq!(again, f);
        }
        assert!(Frontier::from_bytes(3, &[0u8; 32]).is_err());
    }

    #[test]
    fn inclusion_proofs_verify_and_bind_position() {
        for n in 1..40 {
            let all = leaves(n);
            let root = root_of(&all);
            for i in 0..n {
                let path = inclusion_proof(&all, i).unwrap();
                assert!(verify_inclusion(&all[i], i as u64, n as u64, &path, &root));
                let other = (i + 1) % n;
                if other != i {
                    assert!(!verify_inclusion(
                        &all[i],
                        other as u64,
                        n as u64,
                        &path,
                        &root
                    ));
                }
                assert!(!verify_inclusion(
                    &sha256(b"x"),
                    i as u64,
                    n as u64,
                    &path,
                    &root
                ));
            }
            assert!(inclusion_proof(&all, n).is_none());
        }
    }

    #[test]
    fn proofs_after_pruning_match_proofs_over_every_leaf() {
        for n in 2..48usize {
            let all = leaves(n);
            let root = root_of(&all);
            for cut in 0..n {
                let mut prefix = Frontier::default();
                all[..cut].iter().for_each(|l| prefix.push(*l));
                for i in 0..n {
                    let got = inclusion_proof_after(&prefix, &all[cut..], i as u64);
                    if i < cut {
                        assert!(got.is_none(), "leaf {i} was pruned");
                        continue;
                    }
                    let got = got.unwrap_or_else(|| panic!("n {n} cut {cut} leaf {i}"));
                    assert_eq!(
                        got,
                        inclusion_proof(&all, i).unwrap(),
                        "n {n} cut {cut} leaf {i}"
                    );
                    assert!(verify_inclusion(&all[i], i as u64, n as u64, &got, &root));
                }
            }
        }
    }

    #[test]
    fn consistency_proofs_verify_and_catch_a_changed_history() {
        let empty = Frontier::default();
        for n in 1..40usize {
            let all = leaves(n);
            let new_root = root_of(&all);
            for m in 1..=n {
                let old_root = root_of(&all[..m]);
                let proof = consistency_proof_after(&empty, &all, m as u64).unwrap();
                assert!(
                    verify_consistency(m as u64, n as u64, &old_root, &new_root, &proof),
                    "m {m} n {n}"
                );
                // A different old history does not verify against the same proof.
                let mut other = all[..m].to_vec();
                other[m / 2] = sha256(b"rewritten");
                let forged = root_of(&other);
                assert!(!verify_consistency(
                    m as u64, n as u64, &forged, &new_root, &proof
                ));
                // Nor does another new tree.
                if m < n {
                    let other_new = root_of(&leaves(n + 1)[1..]);
                    assert!(!verify_consistency(
                        m as u64, n as u64, &old_root, &other_new, &proof
                    ));
                }
                // After pruning a prefix no longer than m, the proof is the same.
                for cut in 0..=m {
                    let mut prefix = Frontier::default();
                    all[..cut].iter().for_each(|l| prefix.push(*l));
                    let pruned = consistency_proof_after(&prefix, &all[cut..], m as u64);
                    assert_eq!(pruned.as_ref(), Some(&proof), "m {m} n {n} cut {cut}");
                }
            }
        }
        assert!(consistency_proof_after(&empty, &leaves(4), 0).is_none());
        assert!(consistency_proof_after(&empty, &leaves(4), 5).is_none());
    }

    #[test]
    fn known_answer_from_rfc_structure() {
        // MTH of two leaves is node(leaf0, leaf1); of three, node(node(l0, l1), l2).
        let l = leaves(3);
        assert_eq!(root_of(&l[..2]), node_hash(&l[0], &l[1]));
        assert_eq!(root_of(&l), node_hash(&node_hash(&l[0], &l[1]), &l[2]));
    }
}
