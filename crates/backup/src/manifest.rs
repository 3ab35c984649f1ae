//! Manifests: the list of entries a snapshot holds (format 3: every entry; format 2: the
//! versions), stored whole or as a delta from an earlier manifest, and the loader that
//! rebuilds lists from chains of them.
//!
//! A manifest object (`manifests/<keyed hash of its JSON>`) is either a JSON array of entries
//! (whole) or a JSON object naming a `base` manifest, the positions of the base's entries it
//! drops and the entries it adds with their positions in the result (a delta). A backup
//! writes a delta from its parent's manifest when few entries changed, so a backup after a
//! small change stores kilobytes instead of the whole list again; chains are at most
//! [`MAX_DEPTH`] deltas long, after which a whole manifest starts the next one. Positions
//! make the rebuilt list exactly the one written, whatever its order. Erase writes whole
//! manifests, so no chain keeps an erased file's entries alive.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{BackupError, Entry, Repository};

/// Longest chain of deltas below a whole manifest.
pub(crate) const MAX_DEPTH: u32 = 16;

/// A delta is written only when it changes at most this share (1/n) of the entries.
const DELTA_SHARE: usize = 4;

/// A manifest stored as changes to another.
#[derive(Debug, Serialize, Deserialize)]
struct Delta {
    /// The manifest this one changes.
    base: String,
    /// The number of deltas from a whole manifest to this one (1 for a delta on a whole).
    depth: u32,
    /// Positions in the base's list of the entries dropped, ascending.
    removed: Vec<u32>,
    /// The entries added, each with its position in the result, ascending.
    added: Vec<(u32, Entry)>,
}

/// One stored manifest object.
enum Stored {
    Whole(Vec<Entry>),
    Delta(Delta),
}

/// Parses a manifest object: an array is whole, an object a delta (told apart by the first
/// byte, so the large whole lists are parsed once, without buffering).
fn parse(json: &[u8], name: &str) -> Result<Stored, BackupError> {
    let bad = |e: serde_json::Error| BackupError::Corrupt(format!("manifest {name}: {e}"));
    match json.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => Ok(Stored::Whole(serde_json::from_slice(json).map_err(bad)?)),
        Some(b'{') => Ok(Stored::Delta(serde_json::from_slice(json).map_err(bad)?)),
        _ => Err(BackupError::Corrupt(format!(
            "manifest {name} is neither a list nor a delta"
        ))),
    }
}

/// What the next manifest may be written as a delta from: the parent's manifest.
pub(crate) struct Base<'a> {
    pub name: &'a str,
    pub depth: u32,
    pub entries: Vec<&'a Entry>,
}

/// The JSON of the manifest listing `versions`: a delta from `base` when that is allowed
/// and small, else the whole list. Returns the JSON and its depth.
pub(crate) fn encode(
    versions: &[&Entry],
    base: Option<Base<'_>>,
) -> Result<(Vec<u8>, u32), BackupError> {
    let json = |e: serde_json::Error| BackupError::Corrupt(e.to_string());
    if let Some(base) = base.filter(|b| b.depth < MAX_DEPTH)
        && let Some((removed, added)) = diff(&base.entries, versions)
        && (removed.len() + added.len()) * DELTA_SHARE <= versions.len()
    {
        let delta = Delta {
            base: base.name.to_owned(),
            depth: base.depth + 1,
            removed,
            added: added.into_iter().map(|(at, e)| (at, e.clone())).collect(),
        };
        return Ok((serde_json::to_vec(&delta).map_err(json)?, delta.depth));
    }
    Ok((serde_json::to_vec(versions).map_err(json)?, 0))
}

type Changes<'a> = (Vec<u32>, Vec<(u32, &'a Entry)>);

/// The base positions to drop and the entries to add (at their new positions) that turn
/// `base` into `new`: an entry is kept when an equal one with the same id comes later in
/// the base than the last one kept. None when the base repeats an id or the lists are too
/// long for positions.
fn diff<'a>(base: &[&Entry], new: &[&'a Entry]) -> Option<Changes<'a>> {
    u32::try_from(base.len().max(new.len())).ok()?;
    let mut at: HashMap<&str, usize> = HashMap::with_capacity(base.len());
    for (i, e) in base.iter().enumerate() {
        if at.insert(e.id.as_str(), i).is_some() {
            return None;
        }
    }
    let mut kept = vec![false; base.len()];
    let mut last: Option<usize> = None;
    let mut added = Vec::new();
    for (i, e) in new.iter().enumerate() {
        match at.get(e.id.as_str()) {
            Some(&j) if last.is_none_or(|l| j > l) && base.get(j) == Some(e) => {
                kept[j] = true;
                last = Some(j);
            }
            // Positions fit in u32: checked above.
            _ => added.push((i as u32, *e)),
        }
    }
    let removed = kept
        .iter()
        .enumerate()
        .filter(|(_, k)| !**k)
        .map(|(i, _)| i as u32)
        .collect();
    Some((removed, added))
}

/// Applies a delta to the base's entries (given in order, `base_len` of them).
fn apply(
    base: impl Iterator<Item = Entry>,
    base_len: usize,
    delta: Delta,
    name: &str,
) -> Result<Vec<Entry>, BackupError> {
    let bad = || {
        BackupError::Corrupt(format!(
            "manifest {name}: its positions do not fit its base"
        ))
    };
    let total = (base_len + delta.added.len())
        .checked_sub(delta.removed.len())
        .ok_or_else(bad)?;
    let mut out = Vec::with_capacity(total);
    let mut removed = delta.removed.into_iter().peekable();
    let mut added = delta.added.into_iter().peekable();
    for (i, entry) in base.enumerate() {
        if removed.peek().is_some_and(|r| *r as usize == i) {
            removed.next();
            continue;
        }
        while let Some((_, e)) = added.next_if(|(at, _)| *at as usize == out.len()) {
            out.push(e);
        }
        out.push(entry);
    }
    for (at, e) in added {
        if at as usize != out.len() {
            return Err(bad());
        }
        out.push(e);
    }
    if removed.next().is_some() || out.len() != total {
        return Err(bad());
    }
    Ok(out)
}

/// A rebuilt list and its depth.
struct Built {
    entries: Arc<Vec<Entry>>,
    depth: u32,
}

/// Loads manifests by name, following delta chains. The last `keep` lists built are kept,
/// so snapshots sharing a chain (oldest first, each usually the next one's base) load it
/// once; with `keep` 0, each list is moved into the next instead of copied.
pub(crate) struct Manifests {
    keep: usize,
    built: HashMap<String, Built>,
    /// Names in `built`, oldest first.
    order: VecDeque<String>,
    /// Every manifest object read, with its base (the names a prune must keep).
    bases: HashMap<String, Option<String>>,
    /// File ids to look out for, and the objects read that list one of them.
    watch: HashSet<String>,
    mentions: HashSet<String>,
}

impl Manifests {
    pub(crate) fn new(keep: usize) -> Self {
        Self {
            keep,
            built: HashMap::new(),
            order: VecDeque::new(),
            bases: HashMap::new(),
            watch: HashSet::new(),
            mentions: HashSet::new(),
        }
    }

    /// Also notes which objects read list an entry of one of `file_ids`.
    pub(crate) fn watching(mut self, file_ids: HashSet<String>) -> Self {
        self.watch = file_ids;
        self
    }

    /// Whether the object `name` was read.
    pub(crate) fn was_read(&self, name: &str) -> bool {
        self.bases.contains_key(name)
    }

    /// Whether any object of `name`'s chain lists a watched file.
    pub(crate) fn chain_mentions(&self, name: &str) -> bool {
        let mut next = Some(name);
        let mut steps = 0;
        while let Some(n) = next {
            if self.mentions.contains(n) {
                return true;
            }
            steps += 1;
            if steps > MAX_DEPTH + 1 {
                break;
            }
            next = self.bases.get(n).and_then(|b| b.as_deref());
        }
        false
    }

    fn remember(&mut self, name: String, entries: &Arc<Vec<Entry>>, depth: u32) {
        if self.keep == 0 {
            return;
        }
        while self.order.len() >= self.keep {
            if let Some(old) = self.order.pop_front() {
                self.built.remove(&old);
            }
        }
        self.order.push_back(name.clone());
        let entries = Arc::clone(entries);
        self.built.insert(name, Built { entries, depth });
    }

    fn note(&mut self, name: &str, base: Option<&str>, entries: &mut dyn Iterator<Item = &Entry>) {
        self.bases.insert(name.to_owned(), base.map(str::to_owned));
        if self.watch.is_empty() {
            return;
        }
        for e in entries {
            if e.file_id.as_ref().is_some_and(|f| self.watch.contains(f)) {
                self.mentions.insert(name.to_owned());
                return;
            }
        }
    }

    /// The version entries manifest `name` lists, and its depth.
    pub(crate) async fn load(
        &mut self,
        repo: &Repository,
        name: &str,
    ) -> Result<(Arc<Vec<Entry>>, u32), BackupError> {
        let mut pending: Vec<(String, Delta)> = Vec::new();
        let mut current = name.to_owned();
        let (mut list, mut depth) = loop {
            if let Some(b) = self.built.get(&current) {
                break (Arc::clone(&b.entries), b.depth);
            }
            if pending.len() > MAX_DEPTH as usize {
                return Err(BackupError::Corrupt(format!(
                    "manifest {name}: its chain is longer than {MAX_DEPTH}"
                )));
            }
            let object = current.clone();
            let stored = repo
                .get_object_with("manifests", &current, move |json| parse(json, &object))
                .await?;
            match stored {
                Stored::Whole(entries) => {
                    self.note(&current, None, &mut entries.iter());
                    let entries = Arc::new(entries);
                    self.remember(current, &entries, 0);
                    break (entries, 0);
                }
                Stored::Delta(delta) => {
                    self.note(
                        &current,
                        Some(&delta.base),
                        &mut delta.added.iter().map(|(_, e)| e),
                    );
                    let base = delta.base.clone();
                    pending.push((current, delta));
                    current = base;
                }
            }
        };
        while let Some((object, delta)) = pending.pop() {
            if delta.depth != depth + 1 {
                return Err(BackupError::Corrupt(format!(
                    "manifest {object}: depth {} on a base of depth {depth}",
                    delta.depth
                )));
            }
            let base_len = list.len();
            let entries = match Arc::try_unwrap(list) {
                Ok(owned) => apply(owned.into_iter(), base_len, delta, &object)?,
                Err(shared) => apply(shared.iter().cloned(), base_len, delta, &object)?,
            };
            list = Arc::new(entries);
            depth += 1;
            self.remember(object, &list, depth);
        }
        Ok((list, depth))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::EntryKind;

    fn entry(id: &str, size: u64) -> Entry {
        Entry {
            kind: EntryKind::Version,
            id: id.into(),
            file_id: Some(format!("f{id}")),
            path: Some(format!("p/{id}")),
            version: Some(1),
            tier: None,
            size,
            content_hash: None,
            chunks: vec![format!("{id:0>64}")],
        }
    }

    fn roundtrip(base: &[Entry], new: &[Entry]) -> Vec<Entry> {
        let b: Vec<&Entry> = base.iter().collect();
        let n: Vec<&Entry> = new.iter().collect();
        let (removed, added) = diff(&b, &n).unwrap();
        let delta = Delta {
            base: "b".into(),
            depth: 1,
            removed,
            added: added.into_iter().map(|(i, e)| (i, e.clone())).collect(),
        };
        let json = serde_json::to_vec(&delta).unwrap();
        let Stored::Delta(delta) = parse(&json, "d").unwrap() else {
            panic!("a delta parsed as a whole list")
        };
        apply(base.iter().cloned(), base.len(), delta, "d").unwrap()
    }

    #[test]
    fn a_delta_rebuilds_exactly_the_list_it_was_made_from() {
        let base: Vec<Entry> = (0..50).map(|i| entry(&format!("{i:03}"), i)).collect();
        let cases: Vec<Vec<Entry>> = vec![
            base.clone(),
            vec![],
            // Changed, removed, inserted, appended and prepended entries.
            {
                let mut v = base.clone();
                v[3].size = 999;
                v.remove(10);
                v.insert(20, entry("new1", 1));
                v.push(entry("new2", 2));
                v.insert(0, entry("new0", 0));
                v
            },
            // Reordered: the swapped entries come back where they were put.
            {
                let mut v = base.clone();
                v.swap(1, 40);
                v.reverse();
                v
            },
            // The same id twice in the new list.
            {
                let mut v = base.clone();
                v.push(base[5].clone());
                v
            },
        ];
        for new in cases {
            assert_eq!(roundtrip(&base, &new), new);
        }
        assert_eq!(roundtrip(&[], &base), base);
    }

    #[test]
    fn positions_that_do_not_fit_the_base_are_refused() {
        let base: Vec<Entry> = (0..5).map(|i| entry(&i.to_string(), i)).collect();
        let bad = [
            (vec![5], vec![]),
            (vec![2, 1], vec![]),
            (vec![1, 1], vec![]),
            (vec![], vec![(7, entry("x", 0))]),
            (vec![], vec![(3, entry("x", 0)), (2, entry("y", 0))]),
        ];
        for (removed, added) in bad {
            let delta = Delta {
                base: "b".into(),
                depth: 1,
                removed,
                added,
            };
            let err = apply(base.iter().cloned(), base.len(), delta, "d").unwrap_err();
            assert!(err.to_string().contains("do not fit"), "{err}");
        }
    }

    /// A repository on disk, a backup helper that stores real chunks, and the raw JSON of
    /// every manifest object.
    mod repo {
        use super::*;
        use crate::{BackupWriter, InitOptions, LocalBackend, RepoSecret, Snapshot};

        pub async fn new(dir: &std::path::Path) -> Arc<Repository> {
            let backend = Arc::new(LocalBackend::new(dir));
            let secret = RepoSecret::KeyFile(zeroize::Zeroizing::new(vec![b'7'; 64]));
            let (repo, _) = Repository::init(backend, &secret, InitOptions::default())
                .await
                .unwrap();
            Arc::new(repo)
        }

        /// One version per (file, version); its content names both.
        pub async fn backup(repo: &Arc<Repository>, files: &[(u32, i64)], time: i64) -> Snapshot {
            let writer = BackupWriter::start(Arc::clone(repo), "src", None)
                .await
                .unwrap();
            let mut entries = Vec::new();
            for &(file, version) in files {
                let data = format!("file {file} version {version}").into_bytes();
                let sink = writer.sink();
                let len = data.len() as u64;
                let (chunks, _) = tokio::task::spawn_blocking(move || {
                    sink.store(&mut data.as_slice(), len).unwrap()
                })
                .await
                .unwrap();
                entries.push(Entry {
                    kind: EntryKind::Version,
                    id: format!("v{file}-{version}"),
                    file_id: Some(format!("f{file}")),
                    path: Some(format!("dir/{file}.txt")),
                    version: Some(version),
                    tier: None,
                    size: len,
                    content_hash: None,
                    chunks,
                });
            }
            // A database copy that changes every time, as the real one does.
            let db = format!("database as of {time}").into_bytes();
            let sink = writer.sink();
            let len = db.len() as u64;
            let (chunks, _) = tokio::task::spawn_blocking(move || {
                sink.store_paged(&mut db.as_slice(), len).unwrap()
            })
            .await
            .unwrap();
            entries.push(Entry {
                kind: EntryKind::Database,
                id: "meta.db".into(),
                file_id: None,
                path: None,
                version: None,
                tier: None,
                size: len,
                content_hash: None,
                chunks,
            });
            let snapshot = Snapshot {
                id: String::new(),
                time_ms: time,
                hostname: "h".into(),
                source: "src".into(),
                parent: None,
                entries,
                stats: Default::default(),
                erased: Vec::new(),
            };
            writer.finish(snapshot).await.unwrap()
        }

        pub async fn raw_manifests(repo: &Repository) -> Vec<(String, String)> {
            let mut out = Vec::new();
            for name in repo.names("manifests").await.unwrap() {
                let json = repo
                    .get_object_with("manifests", &name, |j| Ok(j.to_vec()))
                    .await
                    .unwrap();
                out.push((name, String::from_utf8(json).unwrap()));
            }
            out
        }
    }

    #[tokio::test]
    async fn chained_manifests_load_exactly_and_erase_leaves_none_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = repo::new(tmp.path()).await;
        let mut files: Vec<(u32, i64)> = (0..30).map(|f| (f, 1)).collect();
        let mut written = vec![repo::backup(&repo, &files, 1).await];
        // A new version of file 5 (kept beside the old one, in order), then file 7 purged.
        files.insert(6, (5, 2));
        written.push(repo::backup(&repo, &files, 2).await);
        files.retain(|(f, _)| *f != 7);
        written.push(repo::backup(&repo, &files, 3).await);

        let raw = repo::raw_manifests(&repo).await;
        assert_eq!(raw.len(), 3);
        let deltas: Vec<&(String, String)> =
            raw.iter().filter(|(_, j)| j.starts_with('{')).collect();
        assert_eq!(deltas.len(), 2, "two small changes, two deltas");
        let whole = raw.iter().find(|(_, j)| j.starts_with('[')).unwrap();
        assert!(deltas.iter().all(|(_, j)| j.len() * 5 < whole.1.len()));
        let mut depths = Vec::new();
        for (loaded, want) in repo.snapshots().await.unwrap().iter().zip(&written) {
            assert_eq!(loaded.entries, want.entries, "rebuilt exactly");
            let info = repo
                .snapshot_infos()
                .await
                .unwrap()
                .into_iter()
                .find(|i| i.id == loaded.id)
                .unwrap();
            depths.push(
                repo.load_with(info, &mut Manifests::new(0))
                    .await
                    .unwrap()
                    .1,
            );
        }
        assert_eq!(depths, [0, 1, 2]);
        // Headers name their manifest and hold no entries: the database copy's chunk list
        // is in the manifest, so listing snapshots stays cheap.
        for info in repo.snapshot_infos().await.unwrap() {
            assert!(info.entries.is_empty());
        }
        assert!(repo.snapshots().await.unwrap().iter().all(|s| {
            s.entry(EntryKind::Database).map(|e| e.size) == Some("database as of 1".len() as u64)
        }));

        // The third snapshot no longer lists file 7, but its chain does: it is rewritten too.
        let (rewritten, _) = crate::erase(&repo, &HashSet::from(["f7".to_owned()]))
            .await
            .unwrap();
        assert_eq!(rewritten, 3);
        let raw = repo::raw_manifests(&repo).await;
        assert!(!raw.is_empty());
        for (name, json) in &raw {
            assert!(
                !json.contains("\"file_id\":\"f7\""),
                "manifest {name} names f7"
            );
        }
        let left = repo.snapshots().await.unwrap();
        assert_eq!(left.len(), 3);
        for (loaded, want) in left.iter().zip(&written) {
            let want: Vec<&Entry> = want
                .entries
                .iter()
                .filter(|e| e.file_id.as_deref() != Some("f7"))
                .collect();
            assert!(loaded.entries.iter().eq(want));
        }
        let report = crate::verify(
            &repo,
            crate::VerifyOptions {
                read_data: true,
                subset: crate::Subset::All,
            },
        )
        .await
        .unwrap();
        assert!(report.is_ok(), "{:?}", report.problems);
    }

    #[tokio::test]
    async fn format_2_repositories_keep_whole_version_manifests_and_entries_in_headers() {
        let tmp = tempfile::tempdir().unwrap();
        drop(repo::new(tmp.path()).await);
        let config = tmp.path().join("config");
        let mut json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&config).unwrap()).unwrap();
        json["format"] = 2.into();
        std::fs::write(&config, serde_json::to_vec(&json).unwrap()).unwrap();
        let backend = Arc::new(crate::LocalBackend::new(tmp.path()));
        let secret = crate::RepoSecret::KeyFile(zeroize::Zeroizing::new(vec![b'7'; 64]));
        let repo = Arc::new(Repository::open(backend, &secret).await.unwrap());
        let mut files: Vec<(u32, i64)> = (0..30).map(|f| (f, 1)).collect();
        let first = repo::backup(&repo, &files, 1).await;
        files.push((30, 1));
        let second = repo::backup(&repo, &files, 2).await;
        let raw = repo::raw_manifests(&repo).await;
        assert_eq!(raw.len(), 2);
        assert!(
            raw.iter()
                .all(|(_, j)| j.starts_with('[') && !j.contains("meta.db"))
        );
        for info in repo.snapshot_infos().await.unwrap() {
            assert_eq!(info.entries.len(), 1, "the database entry is in the header");
        }
        let loaded = repo.snapshots().await.unwrap();
        assert_eq!(loaded[0].entries, first.entries);
        assert_eq!(loaded[1].entries, second.entries);
    }

    #[tokio::test]
    async fn chains_stop_at_the_depth_limit_and_prune_keeps_the_bases_kept_snapshots_need() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = repo::new(tmp.path()).await;
        let mut files: Vec<(u32, i64)> = (0..20).map(|f| (f, 1)).collect();
        let rounds = MAX_DEPTH as i64 + 3;
        let mut last = None;
        for round in 0..rounds {
            files.push((100 + round as u32, 1));
            last = Some(repo::backup(&repo, &files, round + 1).await);
        }
        let mut depths = Vec::new();
        for info in repo.snapshot_infos().await.unwrap() {
            depths.push(
                repo.load_with(info, &mut Manifests::new(0))
                    .await
                    .unwrap()
                    .1,
            );
        }
        let want: Vec<u32> = (0..rounds as u32).map(|r| r % (MAX_DEPTH + 1)).collect();
        assert_eq!(depths, want, "a whole manifest after {MAX_DEPTH} deltas");

        // Forget all but the newest snapshot: prune keeps its chain, and nothing else.
        let infos = repo.snapshot_infos().await.unwrap();
        let (newest, older) = infos.split_last().unwrap();
        let ids: Vec<String> = older.iter().map(|i| i.id.clone()).collect();
        crate::forget(&repo, &ids).await.unwrap();
        let report = crate::prune(&repo, crate::PruneOptions::default())
            .await
            .unwrap();
        let chain_len = (rounds as usize - 1) % (MAX_DEPTH as usize + 1) + 1;
        assert_eq!(repo.names("manifests").await.unwrap().len(), chain_len);
        assert_eq!(
            report.manifests_deleted as usize,
            rounds as usize - chain_len
        );
        let loaded = repo.snapshot(&newest.id).await.unwrap();
        assert_eq!(loaded.entries, last.unwrap().entries);
    }

    #[test]
    fn a_large_change_or_a_deep_chain_writes_the_whole_list() {
        let base: Vec<Entry> = (0..40).map(|i| entry(&i.to_string(), i)).collect();
        let refs: Vec<&Entry> = base.iter().collect();
        let mut small = base.clone();
        small[0].size = 7;
        let small: Vec<&Entry> = small.iter().collect();
        let at = |depth| Base {
            name: "b",
            depth,
            entries: refs.clone(),
        };
        let (json, depth) = encode(&small, Some(at(0))).unwrap();
        assert_eq!((json[0], depth), (b'{', 1));
        let (json, depth) = encode(&small, Some(at(MAX_DEPTH))).unwrap();
        assert_eq!((json[0], depth), (b'[', 0));
        let other: Vec<Entry> = (100..140).map(|i| entry(&i.to_string(), i)).collect();
        let other: Vec<&Entry> = other.iter().collect();
        let (json, depth) = encode(&other, Some(at(0))).unwrap();
        assert_eq!((json[0], depth), (b'[', 0));
        let (json, _) = encode(&small, None).unwrap();
        assert_eq!(json[0], b'[');
    }
}
