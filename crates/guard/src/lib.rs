//! The one path to the data. Every entry point — REST, the CLI in-process, and later the
//! gateway, MCP, the agent and workflows — calls [`Vault`], and every [`Vault`] operation runs
//! authenticate → authorize → act → audit.
//!
//! By construction there is no way around it: the [`Vault`] owns the store privately and never
//! hands it out; its operations require a [`Caller`], which only [`Vault::authenticate`] (or
//! unlocking the workspace as its local operator) can produce; and every decision is a
//! [`covault_policy::Decision`] from the policy crate. Audit events are committed in the same
//! transaction as the change, or appended before data is released; if auditing fails, the
//! operation fails.

mod access;
mod ai;
mod audit;
mod backup;
mod caller;
mod dto;
mod error;
mod identity;
mod identity_dto;
mod session;
mod vault;

pub use access::{AccessOptions, load as load_policies, read_policy_dir};
pub use ai::{AiFile, AiGrant, AiOutcome, AiTarget, month_of, principal_subject, provider_subject};
pub use audit::{AuditExport, AuditFollow};
pub use backup::{RestoreReport, restore_workspace};
pub use caller::{Caller, RequestContext};
pub use covault_audit::AiFields;
pub use covault_audit::export;
pub use covault_audit::{
    AuditQuery, Checkpoint, ConsistencyProof, InclusionProof, Outcome, Problem, StoredEvent,
    TamperKind, VerifyReport as AuditVerifyReport,
};
pub use covault_audit::{format_rfc3339, now_ms, parse_rfc3339};
pub use covault_backup as backups;
pub use covault_crypto::sha256;
pub use covault_crypto::{KdfParams, PublicKey, generate_key_file};
pub use covault_policy::Action;
pub use covault_policy::{IpNet, PolicyEngine, TokenScope, client_ip, parse_network, qr_terminal};
pub use covault_policy::{PrincipalKind, Tier};
pub use covault_store::PrincipalChange;
pub use covault_store::Usage;
pub use covault_store::{
    ByteStream, KekSource, LockMode, NewKekSource, PathLimits, PruneReport, StoreError,
    VerifyProblem, VerifyReport,
};
pub use covault_store::{ExtractionPolicy, OnExtractionFailure};
pub use dto::{Download, FileInfo, Listing, NewPrincipal, PrincipalInfo, PurgeInfo, VersionInfo};
pub use error::{ErrorKind, GuardError};
pub use identity_dto::{
    AccessReview, GroupInfo, MfaEnrollmentInfo, NewToken, PrincipalDetail, ReviewFinding, TokenInfo,
};
pub use session::{ExternalIdentity, NewSession, random_hex32};
pub use vault::{InitOptions, Initialized, OpenOptions, Opened, Vault, VaultLimits};
