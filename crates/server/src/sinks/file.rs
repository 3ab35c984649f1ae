//! The file sink: appends one record per line and fsyncs before the batch counts as
//! delivered. A batch that fails half-way is cut off again, so a retry does not repeat its
//! first lines; a line torn by a crash is closed off with a newline before anything else is
//! written after it. The file is created `0600`: the records name principals and paths.

use std::path::PathBuf;

use tokio::fs::{File, OpenOptions};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::DeliveryError;

pub(crate) struct FileSink {
    path: PathBuf,
    file: Option<File>,
}

impl FileSink {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self { path, file: None }
    }

    pub(crate) async fn deliver(&mut self, records: &[String]) -> Result<(), DeliveryError> {
        let mut lines = Vec::with_capacity(records.iter().map(|r| r.len() + 1).sum());
        for record in records {
            lines.extend_from_slice(record.as_bytes());
            lines.push(b'\n');
        }
        let result = self.append(&lines).await;
        if result.is_err() {
            self.file = None;
        }
        result.map_err(|source| DeliveryError::File {
            path: self.path.clone(),
            source,
        })
    }

    async fn append(&mut self, lines: &[u8]) -> std::io::Result<()> {
        let file = match self.file.take() {
            Some(file) => file,
            None => self.open().await?,
        };
        let file = self.file.insert(file);
        let before = file.metadata().await?.len();
        let written = async {
            file.write_all(lines).await?;
            file.flush().await?;
            file.sync_data().await
        }
        .await;
        if let Err(e) = written {
            // Best effort: take back the part of the batch that got there, so the retry
            // does not repeat it. If even that fails, the next open closes the torn line.
            let _ = file.set_len(before).await;
            return Err(e);
        }
        Ok(())
    }

    async fn open(&self) -> std::io::Result<File> {
        let mut options = OpenOptions::new();
        options.read(true).append(true).create(true);
        #[cfg(unix)]
        options.mode(0o600);
        let mut file = options.open(&self.path).await?;
        close_torn_line(&mut file).await?;
        sync_parent(&self.path).await?;
        Ok(file)
    }
}

/// Ends the file with a newline if it ends in the middle of a line (a write cut short).
async fn close_torn_line(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata().await?.len();
    if len == 0 {
        return Ok(());
    }
    file.seek(std::io::SeekFrom::Start(len - 1)).await?;
    let mut last = [0u8; 1];
    file.read_exact(&mut last).await?;
    if last[0] != b'\n' {
        tracing::warn!("the sink file ends in a torn line; closing it off");
        file.write_all(b"\n").await?;
        file.sync_data().await?;
    }
    Ok(())
}

/// Makes the file's directory entry durable (it may just have been created).
async fn sync_parent(path: &std::path::Path) -> std::io::Result<()> {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => File::open(dir).await?.sync_all().await,
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn deliver(sink: &mut FileSink, records: &[&str]) {
        let records: Vec<String> = records.iter().map(|r| (*r).to_owned()).collect();
        sink.deliver(&records).await.unwrap();
    }

    #[tokio::test]
    async fn appends_lines_and_closes_a_torn_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let mut sink = FileSink::new(path.clone());
        deliver(&mut sink, &["a", "b"]).await;
        deliver(&mut sink, &["c"]).await;
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\nb\nc\n");

        std::fs::write(&path, "a\ntor").unwrap();
        let mut sink = FileSink::new(path.clone());
        deliver(&mut sink, &["d"]).await;
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "a\ntor\nd\n");
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        deliver(&mut FileSink::new(path.clone()), &["a"]).await;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[tokio::test]
    async fn an_unwritable_path_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut sink = FileSink::new(dir.path().join("missing/audit.jsonl"));
        let err = sink.deliver(&["a".to_owned()]).await.unwrap_err();
        assert_eq!(err.kind(), "file");
    }
}
