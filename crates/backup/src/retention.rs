//! Retention: which snapshots a keep-last / hourly / daily / weekly / monthly / yearly policy
//! keeps. Same rule as restic's: walking from newest to oldest, a snapshot is kept for a
//! period kind if it is the newest one of a period (hour, day, …) not yet seen, until that
//! kind's count is used up. Times are UTC; weeks start on Monday.

use std::collections::BTreeSet;

use covault_audit::civil_from_days as civil;
use serde::Serialize;

use crate::SnapshotInfo;

/// How many of each to keep.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KeepPolicy {
    pub last: u32,
    pub hourly: u32,
    pub daily: u32,
    pub weekly: u32,
    pub monthly: u32,
    pub yearly: u32,
}

impl KeepPolicy {
    pub fn is_empty(&self) -> bool {
        *self == KeepPolicy::default()
    }
}

/// One snapshot's fate and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub id: String,
    pub time_ms: i64,
    pub keep: bool,
    pub reasons: Vec<&'static str>,
}

const DAY_MS: i64 = 86_400_000;

/// `YYYY-MM-DD HH:MM:SS UTC`.
pub fn format_time(ms: i64) -> String {
    let days = ms.div_euclid(DAY_MS);
    let secs = ms.rem_euclid(DAY_MS) / 1000;
    let (y, m, d) = civil(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Applies `policy` to `snapshots` (any order); returns one decision per snapshot, newest
/// first.
pub fn apply(snapshots: &[SnapshotInfo], policy: &KeepPolicy) -> Vec<Decision> {
    let mut sorted: Vec<&SnapshotInfo> = snapshots.iter().collect();
    sorted.sort_by(|a, b| b.time_ms.cmp(&a.time_ms).then(b.id.cmp(&a.id)));
    type Bucket = fn(i64) -> i64;
    let kinds: [(&'static str, u32, Bucket); 5] = [
        ("hourly", policy.hourly, |ms| ms.div_euclid(3_600_000)),
        ("daily", policy.daily, |ms| ms.div_euclid(DAY_MS)),
        // 1970-01-01 was a Thursday: shifting by 3 days makes weeks start on Monday.
        ("weekly", policy.weekly, |ms| {
            (ms.div_euclid(DAY_MS) + 3).div_euclid(7)
        }),
        ("monthly", policy.monthly, |ms| {
            let (y, m, _) = civil(ms.div_euclid(DAY_MS));
            y * 12 + m
        }),
        ("yearly", policy.yearly, |ms| civil(ms.div_euclid(DAY_MS)).0),
    ];
    let mut seen: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); kinds.len()];
    let mut out = Vec::with_capacity(sorted.len());
    for (n, snap) in sorted.iter().enumerate() {
        let mut reasons = Vec::new();
        if (n as u64) < u64::from(policy.last) {
            reasons.push("last");
        }
        for (k, (name, count, bucket)) in kinds.iter().enumerate() {
            let key = bucket(snap.time_ms);
            if (seen[k].len() as u64) < u64::from(*count) && seen[k].insert(key) {
                reasons.push(*name);
            }
        }
        out.push(Decision {
            id: snap.id.clone(),
            time_ms: snap.time_ms,
            keep: !reasons.is_empty(),
            reasons,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SnapshotStats;

    fn snap(id: &str, time_ms: i64) -> SnapshotInfo {
        SnapshotInfo {
            id: id.into(),
            time_ms,
            hostname: "h".into(),
            source: "s".into(),
            parent: None,
            stats: SnapshotStats::default(),
            erased: Vec::new(),
            manifest: String::new(),
            entries: Vec::new(),
        }
    }

    #[test]
    fn dates_are_civil_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        // 2026-12-02 07:00:00 UTC
        assert_eq!(format_time(1_796_194_800_000), "2026-12-02 07:00:00 UTC");
        assert_eq!(civil(11_016), (2000, 2, 29));
    }

    #[test]
    fn keeps_the_newest_of_each_period() {
        let hour = 3_600_000;
        let base = 1_796_194_800_000; // a Wednesday 07:00 UTC
        // Four snapshots a day, six hours apart, over ten days.
        let snaps: Vec<SnapshotInfo> = (0..40)
            .map(|i| snap(&format!("s{i:02}"), base - i * 6 * hour))
            .collect();
        let policy = KeepPolicy {
            last: 2,
            daily: 3,
            weekly: 2,
            ..KeepPolicy::default()
        };
        let decisions = apply(&snaps, &policy);
        let kept: Vec<&str> = decisions
            .iter()
            .filter(|d| d.keep)
            .map(|d| d.id.as_str())
            .collect();
        // s00 (Wed 07:00) and s01 (Wed 01:00): last; daily: s00, s02 (Tue 19:00), s06
        // (Mon 19:00); weekly: s00 and s10 (Sun 19:00, the newest of last week).
        assert_eq!(kept, ["s00", "s01", "s02", "s06", "s10"]);
        assert!(
            decisions
                .iter()
                .filter(|d| !d.keep)
                .all(|d| d.reasons.is_empty())
        );
        assert!(
            apply(&snaps, &KeepPolicy::default())
                .iter()
                .all(|d| !d.keep)
        );
    }
}
