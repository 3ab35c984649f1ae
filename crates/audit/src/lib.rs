//! The audit log's model and its proofs: events (content-free), the hash chain that binds
//! each event to the one before, the RFC 9162 Merkle tree and the Ed25519-signed checkpoints
//! over it, verification that names and locates any change, and the export formats.
//!
//! This crate computes; it stores nothing and sends nothing. The store appends events (in
//! the same transaction as the change they describe, chaining them as it goes), the server
//! ships them to collectors. Events carry ids, paths, hashes and counts — never file
//! content, prompts or secrets.

mod chain;
mod checkpoint;
mod error;
mod event;
pub mod export;
pub mod merkle;
mod proof;
mod query;
mod time;
mod verify;

pub use chain::{
    ChainHasher, ChainHead, GENESIS, RawColumns, canonical_bytes, canonical_raw, chain_hash,
};
pub use checkpoint::Checkpoint;
pub use error::AuditError;
pub use event::{AiFields, AuditEvent, EventColumns, Outcome, StoredEvent, WorkflowFields};
pub use merkle::Frontier;
pub use proof::{ConsistencyProof, InclusionProof};
pub use query::{ActionFilter, AuditQuery, MAX_PAGE};
pub use time::{civil_from_days, format_rfc3339, now_ms, parse_rfc3339};
pub use verify::{Anchor, HashedEvent, MAX_PROBLEMS, Problem, TamperKind, Verifier, VerifyReport};
