//! One sink's delivery loop: start the export (its cursor), then read a batch, encode it,
//! deliver it (retrying the same batch until it gets there), and commit its last seq. The
//! cursor only moves after a delivery succeeded, and never past what was delivered.
//!
//! A sink that loses its collector says so once in the audit log, and once when it is
//! delivering again: never per retry, and never with an event's text. Shutdown is obeyed
//! between steps and while waiting; an in-flight delivery gets [`SHUTDOWN_GRACE`] to finish
//! (and is then committed), or is abandoned uncommitted and sent again on the next start.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use covault_guard::{Action, AuditExport, Caller, Outcome, StoredEvent, Vault};
use tokio::sync::watch;

use super::transport::{Prepared, Transport};
use super::{DeliveryError, RetryPolicy, SinkConfig};

/// How long an in-flight delivery may still take once shutdown is asked for.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The sink was asked to stop (or its supervisor is gone).
struct Stopped;

struct Runner {
    vault: Arc<Vault>,
    operator: Caller,
    config: SinkConfig,
    transport: Transport,
    shutdown: watch::Receiver<bool>,
    /// Failed attempts since the last delivery; the loss was audited when it left 0.
    failures: u32,
}

pub(crate) async fn run(
    vault: Arc<Vault>,
    operator: Caller,
    config: SinkConfig,
    transport: Transport,
    shutdown: watch::Receiver<bool>,
) {
    let mut runner = Runner {
        vault,
        operator,
        config,
        transport,
        shutdown,
        failures: 0,
    };
    let Err(Stopped) = runner.run().await;
    tracing::info!("audit sink stopped");
}

impl Runner {
    async fn run(&mut self) -> Result<Infallible, Stopped> {
        let mut export = self.start().await?;
        tracing::info!(cursor = export.cursor(), "audit sink started");
        loop {
            let events = match self.next_events(&export).await {
                Ok(events) => events,
                Err(Stopped) => {
                    self.drain(&mut export).await;
                    return Err(Stopped);
                }
            };
            if let Some(seq) = self.deliver(&events).await? {
                self.commit(&mut export, seq).await?;
            }
        }
    }

    /// At a graceful stop, while the collector is reachable: one last delivery of whatever
    /// is new (within [`SHUTDOWN_GRACE`], no retries), so the collector is left current.
    async fn drain(&mut self, export: &mut AuditExport) {
        let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE;
        while tokio::time::Instant::now() < deadline {
            let events = match export.batch(self.config.batch).await {
                Ok(events) if !events.is_empty() => events,
                _ => return,
            };
            let Ok(batch) = Prepared::encode(&events, self.config.format, &self.config.encode)
            else {
                return;
            };
            let delivery = self.transport.deliver(&batch, &self.config.encode);
            match tokio::time::timeout_at(deadline, delivery).await {
                Ok(Ok(())) => {
                    if export.commit(batch.last_seq()).await.is_err() {
                        return;
                    }
                }
                _ => return,
            }
        }
    }

    async fn start(&mut self) -> Result<AuditExport, Stopped> {
        let mut backoff = Backoff::new(self.config.retry);
        loop {
            self.check_stop()?;
            match self
                .vault
                .audit_export(&self.operator, &self.config.name)
                .await
            {
                Ok(export) => return Ok(export),
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?delay, "cannot start the audit export");
                    self.pause(delay).await?;
                }
            }
        }
    }

    /// The next undelivered events, waiting while there are none.
    async fn next_events(&mut self, export: &AuditExport) -> Result<Vec<StoredEvent>, Stopped> {
        let mut backoff = Backoff::new(self.config.retry);
        loop {
            self.check_stop()?;
            match export.batch(self.config.batch).await {
                Ok(events) if !events.is_empty() => return Ok(events),
                Ok(_) => self.pause(self.config.poll).await?,
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::warn!(error = %e, retry_in = ?delay, "cannot read the audit log");
                    self.pause(delay).await?;
                }
            }
        }
    }

    /// Delivers (a prefix of) `events`, retrying until it got there: the seq to commit, or
    /// `None` when nothing could be encoded (the batch is read again after a wait).
    async fn deliver(&mut self, events: &[StoredEvent]) -> Result<Option<u64>, Stopped> {
        let batch = match Prepared::encode(events, self.config.format, &self.config.encode) {
            Ok(batch) => batch,
            Err(e) => {
                let delay = self.config.retry.max;
                self.failed(&e, delay).await;
                self.pause(delay).await?;
                return Ok(None);
            }
        };
        let mut backoff = Backoff::new(self.config.retry);
        loop {
            match self.attempt(&batch).await? {
                Ok(()) => {
                    self.recovered().await;
                    let (count, last_seq) = (batch.records().len(), batch.last_seq());
                    tracing::debug!(count, last_seq, "audit events delivered");
                    return Ok(Some(last_seq));
                }
                Err(e) => {
                    let delay = if e.is_permanent() {
                        self.config.retry.max
                    } else {
                        backoff.next_delay()
                    };
                    self.failed(&e, delay).await;
                    self.pause(delay).await?;
                }
            }
        }
    }

    /// One delivery attempt, cut short by shutdown after [`SHUTDOWN_GRACE`].
    async fn attempt(
        &mut self,
        batch: &Prepared<'_>,
    ) -> Result<Result<(), DeliveryError>, Stopped> {
        let delivery = self.transport.deliver(batch, &self.config.encode);
        tokio::pin!(delivery);
        tokio::select! {
            result = &mut delivery => Ok(result),
            () = stop_signal(&mut self.shutdown) => {
                match tokio::time::timeout(SHUTDOWN_GRACE, delivery).await {
                    Ok(Ok(())) => Ok(Ok(())),
                    _ => Err(Stopped),
                }
            }
        }
    }

    /// Records delivery up to `seq`, retrying (a lost commit would repeat the batch).
    async fn commit(&mut self, export: &mut AuditExport, seq: u64) -> Result<(), Stopped> {
        let mut backoff = Backoff::new(self.config.retry);
        loop {
            match export.commit(seq).await {
                Ok(()) => return Ok(()),
                Err(e) => {
                    let delay = backoff.next_delay();
                    tracing::error!(seq, error = %e, retry_in = ?delay, "cannot record the sink's cursor");
                    self.pause(delay).await?;
                }
            }
        }
    }

    async fn failed(&mut self, error: &DeliveryError, delay: Duration) {
        self.failures = self.failures.saturating_add(1);
        tracing::warn!(
            error = %error,
            attempt = self.failures,
            permanent = error.is_permanent(),
            retry_in = ?delay,
            "audit sink delivery failed"
        );
        if self.failures == 1 {
            let message: String = error.to_string().chars().take(300).collect();
            let detail = serde_json::json!({
                "sink": self.config.name,
                "target": self.config.target.kind(),
                "error": error.kind(),
                "message": message,
                "permanent": error.is_permanent(),
            });
            self.note(Outcome::Failed, "audit export sink cannot deliver", detail)
                .await;
        }
    }

    async fn recovered(&mut self) {
        if self.failures == 0 {
            return;
        }
        let failed_attempts = std::mem::take(&mut self.failures);
        tracing::info!(failed_attempts, "audit sink delivering again");
        let detail = serde_json::json!({
            "sink": self.config.name,
            "target": self.config.target.kind(),
            "failed_attempts": failed_attempts,
        });
        self.note(
            Outcome::Success,
            "audit export sink delivering again",
            detail,
        )
        .await;
    }

    async fn note(&self, outcome: Outcome, reason: &str, detail: serde_json::Value) {
        let noted = self
            .vault
            .audit_note(&self.operator, Action::AuditExport, outcome, reason, detail)
            .await;
        if let Err(e) = noted {
            tracing::error!(error = %e, "cannot audit the sink's state");
        }
    }

    /// Waits `delay`, or less if shutdown is asked for.
    async fn pause(&mut self, delay: Duration) -> Result<(), Stopped> {
        tokio::select! {
            () = tokio::time::sleep(delay) => self.check_stop(),
            () = stop_signal(&mut self.shutdown) => Err(Stopped),
        }
    }

    fn check_stop(&self) -> Result<(), Stopped> {
        if *self.shutdown.borrow() || self.shutdown.has_changed().is_err() {
            Err(Stopped)
        } else {
            Ok(())
        }
    }
}

/// Resolves once shutdown is asked for, or its sender is gone.
async fn stop_signal(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

/// Capped exponential backoff: `first`, doubling, up to `max`.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    fn new(policy: RetryPolicy) -> Self {
        Self {
            next: policy.first,
            max: policy.max,
        }
    }

    fn next_delay(&mut self) -> Duration {
        let delay = self.next;
        self.next = self.next.saturating_mul(2).min(self.max);
        delay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_its_cap() {
        let mut backoff = Backoff::new(RetryPolicy::default());
        let delays: Vec<u64> = (0..8).map(|_| backoff.next_delay().as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 30, 30, 30]);
    }
}
