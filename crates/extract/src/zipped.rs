//! Reading zip containers (OOXML, OpenDocument) safely: entry count, declared sizes and
//! compression ratios are checked against [`Limits`] before anything is inflated, and every
//! read is bounded again by what it actually produces (headers can lie).

use std::io::{Cursor, Read};

use zip::ZipArchive;

use crate::{ExtractError, Format, Limits};

pub(crate) struct Zip<'a> {
    archive: ZipArchive<Cursor<&'a [u8]>>,
    names: Vec<String>,
    unpacked: u64,
    limits: &'a Limits,
    format: Format,
}

const RATIO_FLOOR: u64 = 1 << 20;

impl<'a> Zip<'a> {
    pub(crate) fn open(
        bytes: &'a [u8],
        format: Format,
        limits: &'a Limits,
    ) -> Result<Zip<'a>, ExtractError> {
        let mut archive = ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
            ExtractError::malformed(format, format!("not a readable zip container ({e})"))
        })?;
        if archive.len() > limits.max_entries {
            return Err(ExtractError::Limit {
                what: format!("a {} container of {} entries", format.name(), archive.len()),
                limit: limits.max_entries as u64,
            });
        }
        let mut names = Vec::with_capacity(archive.len());
        let mut declared: u64 = 0;
        for i in 0..archive.len() {
            let entry = archive
                .by_index_raw(i)
                .map_err(|e| ExtractError::malformed(format, format!("entry {i}: {e}")))?;
            if entry.encrypted() {
                return Err(ExtractError::Encrypted {
                    format: format.name(),
                });
            }
            let size = entry.size();
            if size > limits.max_entry {
                return Err(ExtractError::Limit {
                    what: format!("a {} entry of {size} bytes uncompressed", format.name()),
                    limit: limits.max_entry,
                });
            }
            if size > RATIO_FLOOR && size / entry.compressed_size().max(1) > limits.max_ratio {
                return Err(ExtractError::Limit {
                    what: format!(
                        "a {} entry compressed {}:1 (a zip bomb)",
                        format.name(),
                        size / entry.compressed_size().max(1)
                    ),
                    limit: limits.max_ratio,
                });
            }
            declared = declared.saturating_add(size);
            names.push(entry.name().map(|n| n.into_owned()).unwrap_or_default());
        }
        if declared > limits.max_unpacked {
            return Err(ExtractError::Limit {
                what: format!(
                    "a {} container of {declared} bytes uncompressed",
                    format.name()
                ),
                limit: limits.max_unpacked,
            });
        }
        Ok(Zip {
            archive,
            names,
            unpacked: 0,
            limits,
            format,
        })
    }

    pub(crate) fn has(&self, name: &str) -> bool {
        self.archive.index_for_name(name).is_some()
    }

    /// The entry's bytes, or `None` when the container has no such entry.
    pub(crate) fn read(&mut self, name: &str) -> Result<Option<Vec<u8>>, ExtractError> {
        let format = self.format;
        let entry = match self.archive.by_name(name) {
            Ok(e) => e,
            Err(zip::result::ZipError::FileNotFound) => return Ok(None),
            Err(e) => return Err(ExtractError::malformed(format, format!("{name}: {e}"))),
        };
        let budget = self
            .limits
            .max_entry
            .min(self.limits.max_unpacked.saturating_sub(self.unpacked));
        let mut out = Vec::with_capacity(entry.size().min(budget) as usize);
        entry
            .take(budget + 1)
            .read_to_end(&mut out)
            .map_err(|e| ExtractError::malformed(format, format!("{name}: {e}")))?;
        if out.len() as u64 > budget {
            return Err(ExtractError::Limit {
                what: format!("{name} inflated beyond its declared size or the container's limit"),
                limit: budget,
            });
        }
        self.unpacked += out.len() as u64;
        Ok(Some(out))
    }

    /// Entries whose names start with `prefix` and end with `suffix`, in natural order
    /// (`slide2` before `slide10`).
    pub(crate) fn matching(&self, prefix: &str, suffix: &str) -> Vec<String> {
        let mut found: Vec<String> = self
            .names
            .iter()
            .filter(|n| n.starts_with(prefix) && n.ends_with(suffix))
            .cloned()
            .collect();
        found.sort_by_key(|n| (number_in(n), n.clone()));
        found
    }
}

/// The last run of digits in a name (`ppt/slides/slide12.xml` → 12).
pub(crate) fn number_in(name: &str) -> u64 {
    let file = name.rsplit('/').next().unwrap_or(name);
    let digits: String = file
        .chars()
        .rev()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits
        .chars()
        .rev()
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}
