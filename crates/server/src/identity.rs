//! Identity routes: principals (`/v1/principals`), groups (`/v1/groups`), API tokens
//! (`/v1/tokens`: issue, list, revoke, rotate), MFA enrolment (`/v1/mfa`) and access review
//! (`/v1/access-review`). Each is one [`Vault`] call behind policy; secrets (new tokens,
//! otpauth URIs, recovery codes) appear once in the response that creates them.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::{Extension, Json};
use covault_guard::{
    AccessReview, Caller, GroupInfo, MfaEnrollmentInfo, NewPrincipal, NewToken, PrincipalChange,
    PrincipalDetail, PrincipalInfo, PrincipalKind, TokenInfo,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::error::{ApiError, ErrorBody};
use crate::files::{Ctx, json, query};

/// Responses that carry a secret (a new token, an otpauth URI, recovery codes) are never
/// cached by browsers or proxies.
type NoStore = [(axum::http::header::HeaderName, &'static str); 1];
const NO_STORE: NoStore = [(axum::http::header::CACHE_CONTROL, "no-store")];

/// `POST /v1/principals`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreatePrincipal {
    name: String,
    /// user (default) or service.
    #[serde(default)]
    kind: Option<String>,
    role: String,
    /// Issue a first API token with the default lifetime.
    #[serde(default)]
    token: bool,
}

/// A new principal, with its first token when one was asked for (shown once).
#[derive(Serialize, utoipa::ToSchema)]
pub struct CreatedPrincipal {
    principal: PrincipalInfo,
    token: Option<String>,
}

#[utoipa::path(post, path = "/v1/principals", tag = "identity", request_body = CreatePrincipal,
    responses((status = 201, body = CreatedPrincipal), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_principal(
    (State(vault), Extension(caller)): Ctx,
    body: Result<Json<CreatePrincipal>, JsonRejection>,
) -> Result<(StatusCode, NoStore, Json<CreatedPrincipal>), ApiError> {
    let body = json(body)?;
    let kind = match body.kind.as_deref() {
        None | Some("user") => PrincipalKind::User,
        Some("service") => PrincipalKind::Service,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "unknown principal kind `{other}`: user or service"
            )));
        }
    };
    let new = NewPrincipal {
        name: body.name,
        kind,
        role: body.role,
        token_expires_at_ms: body.token.then_some(None),
    };
    let (principal, token) = vault.create_principal(&caller, new).await?;
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(CreatedPrincipal {
            principal,
            token: token.map(|t| t.expose_secret().to_owned()),
        }),
    ))
}

#[utoipa::path(get, path = "/v1/principals", tag = "identity",
    responses((status = 200, body = [PrincipalDetail]), (status = 403, body = ErrorBody)))]
pub async fn principals(
    (State(vault), Extension(caller)): Ctx,
) -> Result<Json<Vec<PrincipalDetail>>, ApiError> {
    Ok(Json(vault.principals(&caller).await?))
}

#[utoipa::path(get, path = "/v1/principals/{principal}", tag = "identity",
    params(("principal" = String, Path, description = "id or name")),
    responses((status = 200, body = PrincipalDetail), (status = 404, body = ErrorBody)))]
pub async fn principal(
    (State(vault), Extension(caller)): Ctx,
    Path(id): Path<String>,
) -> Result<Json<PrincipalDetail>, ApiError> {
    Ok(Json(vault.principal(&caller, &id).await?))
}

/// `PATCH /v1/principals/{principal}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdatePrincipal {
    role: Option<String>,
    enabled: Option<bool>,
}

#[utoipa::path(patch, path = "/v1/principals/{principal}", tag = "identity",
    params(("principal" = String, Path, description = "id or name")), request_body = UpdatePrincipal,
    responses((status = 200, body = PrincipalDetail), (status = 403, body = ErrorBody)))]
pub async fn update_principal(
    (State(vault), Extension(caller)): Ctx,
    Path(id): Path<String>,
    body: Result<Json<UpdatePrincipal>, JsonRejection>,
) -> Result<Json<PrincipalDetail>, ApiError> {
    let body = json(body)?;
    let change = PrincipalChange {
        role: body.role,
        enabled: body.enabled,
    };
    Ok(Json(vault.update_principal(&caller, &id, change).await?))
}

#[utoipa::path(post, path = "/v1/principals/{principal}/mfa/reset", tag = "identity",
    params(("principal" = String, Path, description = "id or name")),
    responses((status = 204), (status = 403, body = ErrorBody)))]
pub async fn mfa_reset(
    (State(vault), Extension(caller)): Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vault.mfa_reset(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/v1/groups", tag = "identity",
    responses((status = 200, body = [GroupInfo]), (status = 403, body = ErrorBody)))]
pub async fn groups(
    (State(vault), Extension(caller)): Ctx,
) -> Result<Json<Vec<GroupInfo>>, ApiError> {
    Ok(Json(vault.groups(&caller).await?))
}

/// `PUT /v1/groups/{group}`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutGroup {
    #[serde(default)]
    description: String,
    #[serde(default)]
    roles: Vec<String>,
}

#[utoipa::path(put, path = "/v1/groups/{group}", tag = "identity",
    params(("group" = String, Path)), request_body = PutGroup,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn put_group(
    (State(vault), Extension(caller)): Ctx,
    Path(name): Path<String>,
    body: Result<Json<PutGroup>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    let body = json(body)?;
    vault
        .put_group(&caller, &name, &body.description, body.roles)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/v1/groups/{group}", tag = "identity", params(("group" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn delete_group(
    (State(vault), Extension(caller)): Ctx,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    vault.delete_group(&caller, &name).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(put, path = "/v1/groups/{group}/members/{principal}", tag = "identity",
    params(("group" = String, Path), ("principal" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn add_member(
    (State(vault), Extension(caller)): Ctx,
    Path((group, principal)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    vault
        .set_group_member(&caller, &group, &principal, true)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(delete, path = "/v1/groups/{group}/members/{principal}", tag = "identity",
    params(("group" = String, Path), ("principal" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
pub async fn remove_member(
    (State(vault), Extension(caller)): Ctx,
    Path((group, principal)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    vault
        .set_group_member(&caller, &group, &principal, false)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/tokens`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TokensQuery {
    /// Whose tokens (id or name); the caller's own by default.
    principal: Option<String>,
}

#[utoipa::path(get, path = "/v1/tokens", tag = "identity", params(TokensQuery),
    responses((status = 200, body = [TokenInfo]), (status = 403, body = ErrorBody)))]
pub async fn tokens(
    (State(vault), Extension(caller)): Ctx,
    q: Result<Query<TokensQuery>, QueryRejection>,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let q = query(q)?;
    Ok(Json(vault.tokens(&caller, q.principal.as_deref()).await?))
}

/// `POST /v1/tokens`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// Whose token (id or name); the caller's own by default.
    principal: Option<String>,
    #[serde(flatten)]
    token: NewToken,
}

/// A token just issued: `secret` is shown once and never again.
#[derive(Serialize, utoipa::ToSchema)]
pub struct IssuedTokenBody {
    token: TokenInfo,
    secret: String,
}

fn issued(token: TokenInfo, secret: &SecretString) -> Json<IssuedTokenBody> {
    Json(IssuedTokenBody {
        token,
        secret: secret.expose_secret().to_owned(),
    })
}

#[utoipa::path(post, path = "/v1/tokens", tag = "identity", request_body = CreateToken,
    responses((status = 201, body = IssuedTokenBody), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn create_token(
    (State(vault), Extension(caller)): Ctx,
    body: Result<Json<CreateToken>, JsonRejection>,
) -> Result<(StatusCode, NoStore, Json<IssuedTokenBody>), ApiError> {
    let body = json(body)?;
    let (info, secret) = vault
        .create_token(&caller, body.principal.as_deref(), body.token)
        .await?;
    Ok((StatusCode::CREATED, NO_STORE, issued(info, &secret)))
}

#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "identity", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
pub async fn revoke_token(
    (State(vault), Extension(caller)): Ctx,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    vault.revoke_token(&caller, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /v1/tokens/{id}/rotate`.
#[derive(Deserialize, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateToken {
    /// Seconds the old secret keeps working (default configured).
    overlap_s: Option<i64>,
}

#[utoipa::path(post, path = "/v1/tokens/{id}/rotate", tag = "identity", params(("id" = String, Path)),
    request_body = RotateToken,
    responses((status = 201, body = IssuedTokenBody), (status = 409, body = ErrorBody)))]
pub async fn rotate_token(
    (State(vault), Extension(caller)): Ctx,
    Path(id): Path<String>,
    body: Option<Json<RotateToken>>,
) -> Result<(StatusCode, NoStore, Json<IssuedTokenBody>), ApiError> {
    let overlap = body.and_then(|Json(b)| b.overlap_s);
    let (info, secret) = vault.rotate_token(&caller, &id, overlap).await?;
    Ok((StatusCode::CREATED, NO_STORE, issued(info, &secret)))
}

#[utoipa::path(post, path = "/v1/mfa/enroll", tag = "identity",
    responses((status = 201, body = MfaEnrollmentInfo), (status = 409, body = ErrorBody)))]
pub async fn mfa_enroll(
    (State(vault), Extension(caller)): Ctx,
) -> Result<(StatusCode, NoStore, Json<MfaEnrollmentInfo>), ApiError> {
    Ok((
        StatusCode::CREATED,
        NO_STORE,
        Json(vault.mfa_enroll(&caller).await?),
    ))
}

/// `POST /v1/mfa/confirm`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfirmMfa {
    /// The first code the authenticator shows.
    code: String,
}

/// Single-use recovery codes, shown once.
#[derive(Serialize, utoipa::ToSchema)]
pub struct RecoveryCodesBody {
    recovery_codes: Vec<String>,
}

#[utoipa::path(post, path = "/v1/mfa/confirm", tag = "identity", request_body = ConfirmMfa,
    responses((status = 200, body = RecoveryCodesBody), (status = 400, body = ErrorBody)))]
pub async fn mfa_confirm(
    (State(vault), Extension(caller)): Ctx,
    body: Result<Json<ConfirmMfa>, JsonRejection>,
) -> Result<(NoStore, Json<RecoveryCodesBody>), ApiError> {
    let body = json(body)?;
    let codes = vault
        .mfa_confirm(&caller, &SecretString::from(body.code))
        .await?;
    Ok((
        NO_STORE,
        Json(RecoveryCodesBody {
            recovery_codes: codes.iter().map(|c| c.expose_secret().to_owned()).collect(),
        }),
    ))
}

/// `GET /v1/access-review`.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReviewQuery {
    /// Tokens and grants idle this many days are reported (default 90).
    unused_days: Option<u32>,
}

#[utoipa::path(get, path = "/v1/access-review", tag = "identity", params(ReviewQuery),
    responses((status = 200, body = AccessReview), (status = 403, body = ErrorBody)))]
pub async fn access_review(
    (State(vault), Extension(caller)): Ctx,
    q: Result<Query<ReviewQuery>, QueryRejection>,
) -> Result<Json<AccessReview>, ApiError> {
    let q = query(q)?;
    let days = q.unused_days.unwrap_or(90).clamp(1, 3650);
    Ok(Json(vault.access_review(&caller, days).await?))
}

/// Who the caller is, with what policy sees: roles, groups, MFA.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Whoami {
    id: String,
    name: String,
    kind: String,
    role: String,
    groups: Vec<String>,
    group_roles: Vec<String>,
    mfa_enrolled: bool,
    /// Whether this request proved a second factor.
    mfa: bool,
    token_id: Option<String>,
    #[schema(value_type = Option<Object>)]
    token_scope: Option<covault_guard::TokenScope>,
}

#[utoipa::path(get, path = "/v1/whoami", tag = "identity",
    responses((status = 200, body = Whoami), (status = 401, body = ErrorBody)))]
pub async fn whoami(Extension(caller): Extension<Caller>) -> Json<Whoami> {
    let p = caller.principal();
    Json(Whoami {
        id: p.id.clone(),
        name: p.name.clone(),
        kind: p.kind.as_str().into(),
        role: p.role.clone(),
        groups: p.groups.clone(),
        group_roles: p.group_roles.clone(),
        mfa_enrolled: p.mfa_enrolled,
        mfa: caller.has_mfa(),
        token_id: caller.token_id().map(ToString::to_string),
        token_scope: caller.scope().cloned(),
    })
}
