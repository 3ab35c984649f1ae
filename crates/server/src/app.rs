//! [`Application`]: builds the router around a [`Vault`], binds (plain or TLS), and serves
//! until a graceful shutdown. Used by `covault serve` and by the tests alike.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post, put};
use axum::{Json, Router, middleware};
use axum_server::Handle;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::RustlsConfig;
use covault_guard::Vault;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use crate::{audit, auth, error, files, identity, openapi, sso, tls};

/// A certificate chain and private key, PEM-encoded.
#[derive(Clone, Debug)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// How the server listens.
#[derive(Clone, Debug)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub tls: Option<TlsFiles>,
    /// Permit plain HTTP on a non-loopback address (off by default).
    pub allow_insecure_http: bool,
    /// How long in-flight requests may run after a shutdown signal.
    pub shutdown_grace: Duration,
    /// Largest JSON request body.
    pub max_json_bytes: usize,
    /// Proxies whose `X-Forwarded-For` is believed (everyone else's is ignored).
    pub trusted_proxies: Vec<covault_guard::IpNet>,
    /// Single sign-on through an OpenID provider (off when `None`).
    pub sso: Option<covault_sso::OidcConfig>,
    /// The AI gateway (off when `None`).
    pub gateway: Option<covault_gateway::GatewayConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8750)),
            tls: None,
            allow_insecure_http: false,
            shutdown_grace: Duration::from_secs(30),
            max_json_bytes: 64 * 1024,
            trusted_proxies: Vec::new(),
            sso: None,
            gateway: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(
        "refusing to serve plain HTTP on non-loopback address {0}: configure server.tls_cert and server.tls_key, or set server.allow_insecure_http = true"
    )]
    InsecureBind(SocketAddr),
    #[error("TLS configuration: {0}")]
    Tls(String),
    #[error("could not listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("server failed: {0}")]
    Serve(#[source] std::io::Error),
    #[error(transparent)]
    Gateway(#[from] covault_gateway::StartError),
}

/// A bound server, ready to run.
pub struct Application {
    addr: SocketAddr,
    handle: Handle<SocketAddr>,
    task: tokio::task::JoinHandle<Result<(), std::io::Error>>,
    grace: Duration,
    tls: bool,
}

impl Application {
    /// Checks the configuration, binds, and starts serving in the background.
    pub async fn build(config: ServerConfig, vault: Arc<Vault>) -> Result<Self, ServerError> {
        if config.tls.is_none() && !config.listen.ip().is_loopback() && !config.allow_insecure_http
        {
            return Err(ServerError::InsecureBind(config.listen));
        }
        let tls = config
            .tls
            .as_ref()
            .map(|files| tls::server_config(&files.cert, &files.key))
            .transpose()?;
        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|source| ServerError::Bind {
                addr: config.listen,
                source,
            })?;
        listener.set_nonblocking(true).map_err(ServerError::Serve)?;
        let addr = listener.local_addr().map_err(ServerError::Serve)?;
        let gateway = config
            .gateway
            .clone()
            .map(|g| covault_gateway::Gateway::new(vault.clone(), g).map(Arc::new))
            .transpose()?;
        let app =
            router(vault, &config, gateway).into_make_service_with_connect_info::<SocketAddr>();
        let handle: Handle<SocketAddr> = Handle::new();
        let task = match tls {
            Some(tls) => {
                let server = axum_server::from_tcp_rustls(
                    listener,
                    RustlsConfig::from_config(Arc::new(tls)),
                )
                .map_err(ServerError::Serve)?
                .map(|tls| tls.acceptor(NoDelayAcceptor))
                .handle(handle.clone());
                tokio::spawn(server.serve(app))
            }
            None => {
                // TCP_NODELAY: streamed answers are many small writes; without it each waits
                // for the client's delayed ACK (~40 ms).
                let server = axum_server::from_tcp(listener)
                    .map_err(ServerError::Serve)?
                    .acceptor(NoDelayAcceptor)
                    .handle(handle.clone());
                tokio::spawn(server.serve(app))
            }
        };
        Ok(Self {
            addr,
            handle,
            task,
            grace: config.shutdown_grace,
            tls: config.tls.is_some(),
        })
    }

    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL clients should use.
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// Serves until `shutdown` resolves, then lets in-flight requests finish (up to the grace
    /// period) and returns.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> Result<(), ServerError> {
        let Self {
            handle,
            mut task,
            grace,
            ..
        } = self;
        tokio::select! {
            result = &mut task => return flatten(result),
            () = shutdown => {}
        }
        tracing::info!(
            grace_seconds = grace.as_secs(),
            "shutting down: waiting for in-flight requests"
        );
        handle.graceful_shutdown(Some(grace));
        flatten(task.await)
    }
}

fn flatten(
    joined: Result<Result<(), std::io::Error>, tokio::task::JoinError>,
) -> Result<(), ServerError> {
    match joined {
        Ok(result) => result.map_err(ServerError::Serve),
        Err(e) => Err(ServerError::Serve(std::io::Error::other(e.to_string()))),
    }
}

/// Request ids: a per-process prefix (pid and start time) and a counter. Not secret.
#[derive(Clone)]
struct RequestIds {
    prefix: Arc<str>,
    next: Arc<AtomicU64>,
}

impl MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &axum::http::Request<B>) -> Option<RequestId> {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n}", self.prefix))
            .ok()
            .map(RequestId::new)
    }
}

fn router(
    vault: Arc<Vault>,
    config: &ServerConfig,
    gateway: Option<Arc<covault_gateway::Gateway>>,
) -> Router {
    let auth_state = auth::AuthState {
        vault: vault.clone(),
        trusted_proxies: Arc::new(config.trusted_proxies.clone()),
    };
    let gateway_routes: Router<Arc<Vault>> = match gateway {
        Some(gw) => gw
            .router()
            .route_layer(middleware::from_fn_with_state(
                auth_state.clone(),
                auth::authenticate_gateway,
            ))
            .with_state(()),
        None => Router::new(),
    };
    let api = Router::new()
        .route("/v1/whoami", get(identity::whoami))
        .route(
            "/v1/principals",
            get(identity::principals).post(identity::create_principal),
        )
        .route(
            "/v1/principals/{principal}",
            get(identity::principal).patch(identity::update_principal),
        )
        .route(
            "/v1/principals/{principal}/mfa/reset",
            post(identity::mfa_reset),
        )
        .route("/v1/groups", get(identity::groups))
        .route(
            "/v1/groups/{group}",
            put(identity::put_group).delete(identity::delete_group),
        )
        .route(
            "/v1/groups/{group}/members/{principal}",
            put(identity::add_member).delete(identity::remove_member),
        )
        .route(
            "/v1/tokens",
            get(identity::tokens).post(identity::create_token),
        )
        .route(
            "/v1/tokens/{id}",
            axum::routing::delete(identity::revoke_token),
        )
        .route("/v1/tokens/{id}/rotate", post(identity::rotate_token))
        .route("/v1/mfa/enroll", post(identity::mfa_enroll))
        .route("/v1/mfa/confirm", post(identity::mfa_confirm))
        .route("/v1/access-review", get(identity::access_review))
        .route("/v1/session/logout", post(sso::logout))
        .route("/v1/files", get(files::list))
        .route(
            "/v1/files/{*path}",
            get(files::get).put(files::put).delete(files::delete),
        )
        .route("/v1/stat/{*path}", get(files::stat))
        .route("/v1/history/{*path}", get(files::history))
        .route("/v1/restore/{*path}", axum::routing::post(files::restore))
        .route("/v1/purge/{*path}", axum::routing::post(files::purge))
        .route("/v1/label/{*path}", axum::routing::put(files::label))
        .route("/v1/audit/events", get(audit::events))
        .route("/v1/audit/checkpoints", get(audit::checkpoints))
        .route("/v1/audit/proof/{seq}", get(audit::proof))
        .route("/v1/audit/consistency", get(audit::consistency))
        .route_layer(middleware::from_fn_with_state(
            auth_state,
            auth::authenticate,
        ));
    let started = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64);
    let ids = RequestIds {
        prefix: format!("{:x}{:x}", std::process::id(), started & 0xffff_ffff).into(),
        next: Arc::new(AtomicU64::new(1)),
    };
    let sso_routes: Router<Arc<Vault>> = match &config.sso {
        Some(oidc) => Router::new()
            .route("/v1/sso/login", get(sso::login))
            .route("/v1/sso/callback", get(sso::callback))
            .route("/v1/sso/token", post(sso::token))
            .with_state(Arc::new(sso::SsoState::new(
                vault.clone(),
                oidc.clone(),
                config.tls.is_some(),
            ))),
        None => Router::new(),
    };
    Router::new()
        .route("/healthz", get(health))
        .merge(sso_routes)
        .route("/readyz", get(ready))
        .route("/openapi.json", get(openapi_document))
        .merge(api)
        .merge(gateway_routes)
        .fallback(error::not_found)
        .layer(DefaultBodyLimit::max(config.max_json_bytes))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request| {
                // Route template only: concrete paths name files and stay out of logs.
                let route = request
                    .extensions()
                    .get::<MatchedPath>()
                    .map_or("unmatched", MatchedPath::as_str);
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                tracing::info_span!("request", method = %request.method(), route, request_id = id)
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(ids))
        .with_state(vault)
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn ready(State(vault): State<Arc<Vault>>) -> impl IntoResponse {
    match vault.ready().await {
        Ok(()) => (
            StatusCode::OK,
            Json(serde_json::json!({ "status": "ready" })),
        ),
        Err(e) => {
            tracing::warn!(error = %e, "readiness check failed");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({ "status": "unavailable" })),
            )
        }
    }
}

async fn openapi_document() -> impl IntoResponse {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        openapi::openapi_json(),
    )
}
