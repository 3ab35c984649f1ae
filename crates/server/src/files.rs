//! File routes: each handler parses the request, calls one [`Vault`] operation with the
//! authenticated [`Caller`], and shapes the response. Uploads and downloads stream.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use covault_guard::{
    ByteStream, Caller, ErrorKind, FileInfo, Listing, PurgeInfo, StoreError, Tier, Vault,
    VersionInfo,
};
use futures_util::StreamExt;
use serde::Deserialize;

use crate::error::{ApiError, ErrorBody};

pub(crate) type Ctx = (State<Arc<Vault>>, Extension<Caller>);

pub(crate) fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(v)| v)
        .map_err(|e| ApiError::bad_request(format!("bad query string: {}", e.body_text())))
}

pub(crate) fn json<T>(j: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    j.map(|Json(v)| v).map_err(|e| match e {
        JsonRejection::BytesRejection(_) => {
            ApiError::new(ErrorKind::TooLarge, "request body is too large")
        }
        other => ApiError::bad_request(format!("bad JSON body: {}", other.body_text())),
    })
}

/// Query of `PUT /v1/files/{path}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PutQuery {
    /// Requested tier (public, internal, confidential, restricted); never lower than the
    /// file's current label.
    #[param(value_type = Option<String>)]
    tier: Option<Tier>,
}

/// Query of `GET /v1/files/{path}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct GetQuery {
    /// A version number; the current version when absent.
    version: Option<i64>,
}

/// Query of `GET /v1/files`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Directory to list (whole path components); the whole workspace when absent.
    prefix: Option<String>,
    /// Include soft-deleted files.
    #[serde(default)]
    deleted: bool,
    /// Continue after this path (from `next_after`).
    after: Option<String>,
    /// Page size, 1 to 1000.
    limit: Option<u32>,
}

/// Body of `POST /v1/restore/{path}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreBody {
    version: i64,
}

/// Body of `PUT /v1/label/{path}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelBody {
    /// public, internal, confidential or restricted.
    #[schema(value_type = String)]
    tier: Tier,
}

#[utoipa::path(get, path = "/v1/files", tag = "files", params(ListQuery),
    responses((status = 200, body = Listing), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
pub async fn list(
    (State(vault), Extension(caller)): Ctx,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Listing>, ApiError> {
    let q = query(q)?;
    let prefix = q.prefix.unwrap_or_default();
    let listing = vault
        .list(&caller, &prefix, q.deleted, q.after.as_deref(), q.limit)
        .await?;
    Ok(Json(listing))
}

#[utoipa::path(put, path = "/v1/files/{path}", tag = "files",
    params(("path" = String, Path, description = "workspace path"), PutQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream"),
    responses((status = 201, body = VersionInfo), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 413, body = ErrorBody)))]
pub async fn put(
    (State(vault), Extension(caller)): Ctx,
    Path(path): Path<String>,
    q: Result<Query<PutQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<VersionInfo>), ApiError> {
    let q = query(q)?;
    if let Some(limit) = declared_too_large(&headers, vault.max_file_bytes()) {
        return Err(ApiError::new(
            ErrorKind::TooLarge,
            format!("file is larger than the limit of {limit} bytes"),
        ));
    }
    let stream: ByteStream = Box::pin(
        body.into_data_stream()
            .map(|chunk| chunk.map_err(|e| StoreError::UploadAborted(e.to_string()))),
    );
    let info = vault.put(&caller, &path, q.tier, stream).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

fn declared_too_large(headers: &HeaderMap, limit: u64) -> Option<u64> {
    let declared: u64 = headers
        .get(header::CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()?;
    (declared > limit).then_some(limit)
}

#[utoipa::path(get, path = "/v1/files/{path}", tag = "files",
    params(("path" = String, Path, description = "workspace path"), GetQuery),
    responses((status = 200, description = "the file's bytes (streamed)", content_type = "application/octet-stream"),
        (status = 404, body = ErrorBody), (status = 410, body = ErrorBody), (status = 500, body = ErrorBody)))]
pub async fn get(
    (State(vault), Extension(caller)): Ctx,
    Path(path): Path<String>,
    q: Result<Query<GetQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let q = query(q)?;
    let download = vault.get(&caller, &path, q.version).await?;
    let info = download.info;
    let body = Body::from_stream(download.body.map(|chunk| {
        chunk.map_err(|e| {
            tracing::error!(error = %e, "download aborted");
            std::io::Error::other(e.to_string())
        })
    }));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(info.size));
    headers.insert("x-covault-version", HeaderValue::from(info.version));
    headers.insert(
        "x-covault-tier",
        HeaderValue::from_static(info.tier.as_str()),
    );
    if let Ok(hash) = HeaderValue::from_str(&info.content_hash) {
        headers.insert("x-covault-content-hash", hash);
    }
    Ok(response)
}

#[utoipa::path(delete, path = "/v1/files/{path}", tag = "files",
    params(("path" = String, Path, description = "workspace path")),
    responses((status = 204, description = "deleted (history kept)"), (status = 404, body = ErrorBody), (status = 410, body = ErrorBody)))]
pub async fn delete(
    (State(vault), Extension(caller)): Ctx,
    Path(path): Path<String>,
) -> Result<StatusCode, ApiError> {
    vault.delete(&caller, &path).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/stat/{path}", tag = "files",
    params(("path" = String, Path, description = "workspace path")),
    responses((status = 200, body = FileInfo), (status = 404, body = ErrorBody)))]
pub async fn stat(
    (State(vault), Extension(caller)): Ctx,
    Path(path): Path<String>,
) -> Result<Json<FileInfo>, ApiError> {
    Ok(Json(vault.stat(&caller, &path).await?))
}

#[utoipa::path(get, path = "/v1/history/{path}", tag = "files",
    params(("path" = String, Path, description = "workspace path")),
    responses((status = 200, body = Vec<VersionInfo>), (status = 404, body = ErrorBody)))]
pub async fn history(
    (State(vault), Extension(caller)): Ctx,
    Path(path): Path<String>,
) -> Result<Json<Vec<VersionInfo>>, ApiError> {
    Ok(Json(vault.history(&caller, &path).await?))
}

#[utoipa::path(post, path = "/v1/restore/{path}", tag = "files",
    params(("path" = String, Path, description = "workspace path")), request_body = RestoreBody,
    responses((status = 201, body = VersionInfo), (status = 404, body = ErrorBody)))]
pub async fn restore(
    (State(vault), Extension(caller)): Ctx,
    Path(path): Path<String>,
    body: Result<Json<RestoreBody>, JsonRejection>,
) -> Result<(StatusCode, Json<VersionInfo>), ApiError> {
    let body = json(body)?;
    let info = vault.restore(&caller, &path, body.version).await?;
    Ok((StatusCode::CREATED, Json(info)))
}

#[utoipa::path(post, path = "/v1/purge/{path}", tag = "files",
    params(("path" = String, Path, description = "workspace path")),
    responses((status = 200, body = PurgeInfo), (status = 404, body = ErrorBody)))]
pub async fn purge(
    (State(vault), Extension(caller)): Ctx,
    Path(path): Path<String>,
) -> Result<Json<PurgeInfo>, ApiError> {
    Ok(Json(vault.purge(&caller, &path).await?))
}

#[utoipa::path(put, path = "/v1/label/{path}", tag = "files",
    params(("path" = String, Path, description = "workspace path")), request_body = LabelBody,
    responses((status = 200, body = FileInfo), (status = 404, body = ErrorBody)))]
pub async fn label(
    (State(vault), Extension(caller)): Ctx,
    Path(path): Path<String>,
    body: Result<Json<LabelBody>, JsonRejection>,
) -> Result<Json<FileInfo>, ApiError> {
    let body = json(body)?;
    Ok(Json(vault.set_tier(&caller, &path, body.tier).await?))
}
