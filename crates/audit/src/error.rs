//! Errors of the audit crate. Messages name positions and fields, never event content.

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("stored audit field `{field}` is malformed: {why}")]
    BadField { field: &'static str, why: String },
    #[error("checkpoint at {tree_size} events is signed by `{key}`, not by the trusted key")]
    UntrustedKey { tree_size: u64, key: String },
    #[error("checkpoint at {tree_size} events has an invalid signature")]
    BadSignature { tree_size: u64 },
}
