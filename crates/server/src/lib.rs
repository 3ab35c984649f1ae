//! covault's HTTP API: routing, bearer-token authentication, errors, OpenAPI, TLS, graceful
//! shutdown. Wiring only: every handler calls the [`covault_guard::Vault`] and nothing else,
//! so there is no route to the data that skips authorize → act → audit. Logs name routes,
//! request ids and error kinds — never file paths' content, bodies or tokens.

mod app;
mod audit;
mod audit_tasks;
mod auth;
mod error;
mod files;
mod identity;
mod openapi;
pub mod sinks;
mod sso;
mod tls;

pub use app::{Application, ServerConfig, ServerError, TlsFiles};
pub use audit_tasks::{AuditTaskConfig, AuditTasks};
pub use openapi::openapi_json;
