//! The relying party: discovery, the authorization URL, and the code exchange that ends in an
//! [`SsoIdentity`].
//!
//! Flow: [`OidcClient::discover`] once at start-up → per login [`OidcClient::begin`] (the server
//! redirects the browser and keeps the [`PendingLogin`]) → the provider redirects back with
//! `code` and `state` → [`OidcClient::complete`]. The protocol checks (PKCE, ID token signature,
//! `iss`, `aud`, `exp`, `nonce`, `at_hash`, userinfo `sub`) are `openidconnect`'s; this module
//! adds the pending-login checks, JWKS refresh on key rotation, and the claim → role step. It
//! serves no HTTP routes and keeps no sessions: that is the server's job.

use std::sync::{Arc, PoisonError, RwLock};
use std::time::SystemTime;

use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGenderClaim, CoreGrantType, CoreJsonWebKey,
    CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreRevocableToken,
    CoreRevocationErrorResponse, CoreSubjectIdentifierType, CoreTokenIntrospectionResponse,
    CoreTokenType,
};
use openidconnect::url::Url;
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalProviderMetadata, AuthType, AuthorizationCode,
    ClaimsVerificationError, Client, ClientId, ClientSecret, CsrfToken, DiscoveryError,
    EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdToken, IdTokenClaims,
    IdTokenFields, IdTokenVerifier, IssuerUrl, JsonWebKeySet, JsonWebKeySetUrl, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, StandardErrorResponse,
    StandardTokenResponse, TokenResponse, UserInfoClaims, UserInfoError,
};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use crate::config::{DEFAULT_SCOPES, OidcConfig, secure_url};
use crate::error::chain;
use crate::http::{HttpError, ProviderHttp};
use crate::identity::{ExtraClaims, check_email, map_roles, read_groups};
use crate::{PendingLogin, SsoError, SsoIdentity};

/// Discovery fields `openidconnect` does not model itself.
#[derive(Clone, Debug, Deserialize, Serialize)]
struct ExtraProviderMetadata {
    /// RFC 8414; absent means the provider does not say (many support S256 regardless).
    code_challenge_methods_supported: Option<Vec<String>>,
}

impl AdditionalProviderMetadata for ExtraProviderMetadata {}

type ProviderMetadataX = ProviderMetadata<
    ExtraProviderMetadata,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

type IdTokenFieldsX = IdTokenFields<
    ExtraClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type TokenResponseX = StandardTokenResponse<IdTokenFieldsX, CoreTokenType>;
type IdTokenX = IdToken<
    ExtraClaims,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type IdTokenClaimsX = IdTokenClaims<ExtraClaims, CoreGenderClaim>;
type TokenErrorX = RequestTokenError<HttpError, StandardErrorResponse<CoreErrorResponseType>>;

/// `openidconnect`'s client with our extra claims; endpoints: authorization and token set,
/// userinfo as discovered.
type RelyingParty<HasTokenUrl = EndpointSet> = Client<
    ExtraClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    TokenResponseX,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    HasTokenUrl,
    EndpointMaybeSet,
>;

/// A relying party for one OpenID provider. Cheap to share (`Arc`) between requests; `Send` and
/// `Sync`.
pub struct OidcClient {
    client: RelyingParty,
    http: ProviderHttp,
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: Option<ClientSecret>,
    signing_algs: Vec<CoreJwsSigningAlgorithm>,
    jwks_url: JsonWebKeySetUrl,
    // INVARIANT: holds the provider's key set as last fetched; replaced whole on refresh.
    jwks: RwLock<Arc<CoreJsonWebKeySet>>,
    scopes: Vec<Scope>,
    config: OidcConfig,
}

impl std::fmt::Debug for OidcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcClient")
            .field("issuer", &self.issuer.as_str())
            .field("client_id", &self.client_id.as_str())
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

/// The profile claims gathered from the ID token and, where it lacks some, userinfo.
#[derive(Default)]
struct Profile {
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    groups: Option<Vec<String>>,
}

impl Profile {
    fn is_complete(&self) -> bool {
        self.email.is_some() && self.name.is_some() && self.groups.is_some()
    }
}

impl OidcClient {
    /// Checks `config`, fetches the provider's discovery document and key set over `http`, and
    /// checks that every endpoint is https (or loopback) and that PKCE S256 is available.
    ///
    /// Build `http` with `reqwest::redirect::Policy::none()`: a redirected provider answer is
    /// refused anyway, but only after the redirect was followed.
    pub async fn discover(config: OidcConfig, http: reqwest::Client) -> Result<Self, SsoError> {
        config.validate()?;
        let http = ProviderHttp::new(http);
        let issuer = IssuerUrl::new(config.issuer.clone()).map_err(|_| SsoError::InvalidUrl {
            what: "issuer",
            url: config.issuer.clone(),
            reason: "not an absolute URL",
        })?;
        let metadata = ProviderMetadataX::discover_async(issuer.clone(), &http)
            .await
            .map_err(|error| discovery_error(&config.issuer, error))?;
        check_endpoints(&metadata)?;
        let token_url =
            metadata
                .token_endpoint()
                .cloned()
                .ok_or_else(|| SsoError::NoTokenEndpoint {
                    issuer: config.issuer.clone(),
                })?;
        if let Some(methods) = &metadata
            .additional_metadata()
            .code_challenge_methods_supported
            && !methods.iter().any(|method| method == "S256")
        {
            return Err(SsoError::PkceUnsupported {
                issuer: config.issuer.clone(),
            });
        }
        let redirect_url =
            RedirectUrl::new(config.redirect_url.clone()).map_err(|_| SsoError::InvalidUrl {
                what: "redirect URL",
                url: config.redirect_url.clone(),
                reason: "not an absolute URL",
            })?;
        let client_id = ClientId::new(config.client_id.clone());
        let client_secret = config
            .client_secret
            .as_ref()
            .map(|secret| ClientSecret::new(secret.expose_secret().to_owned()));
        let scopes = requested_scopes(&config, &metadata);
        let auth_type = token_auth_type(&metadata);
        let signing_algs = metadata.id_token_signing_alg_values_supported().clone();
        let jwks_url = metadata.jwks_uri().clone();
        let jwks = metadata.jwks().clone();
        let client: RelyingParty<EndpointMaybeSet> =
            Client::from_provider_metadata(metadata, client_id.clone(), client_secret.clone());
        let client = client
            .set_token_uri(token_url)
            .set_redirect_uri(redirect_url)
            .set_auth_type(auth_type);
        Ok(Self {
            client,
            http,
            issuer,
            client_id,
            client_secret,
            signing_algs,
            jwks_url,
            jwks: RwLock::new(Arc::new(jwks)),
            scopes,
            config,
        })
    }

    /// The issuer this client talks to, exactly as configured.
    pub fn issuer(&self) -> &str {
        self.issuer.as_str()
    }

    /// Starts a login now: the URL to send the browser to, and what `complete` needs later.
    pub fn begin(&self) -> Result<(Url, PendingLogin), SsoError> {
        self.begin_at(SystemTime::now())
    }

    /// [`OidcClient::begin`] with an explicit start time.
    pub fn begin_at(&self, now: SystemTime) -> Result<(Url, PendingLogin), SsoError> {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = self
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(self.scopes.iter().cloned())
            .set_pkce_challenge(challenge)
            .url();
        let pending = PendingLogin::new(
            self.issuer.as_str().to_owned(),
            state.into_secret(),
            nonce.secret().clone(),
            verifier.into_secret(),
            now,
        );
        Ok((url, pending))
    }

    /// Finishes a login from the provider's redirect (`state` and `code` query parameters).
    ///
    /// Refuses a pending login for another issuer, older than
    /// [`crate::PENDING_LOGIN_MAX_AGE`] at `now` or started in the future, and a `state` that
    /// differs (constant-time). Then exchanges the code with the PKCE verifier, verifies the ID
    /// token (signature, `iss`, `aud`, `exp` against the system clock, `nonce`, `at_hash`),
    /// fills missing profile claims from userinfo, applies the email domain rule and maps groups
    /// to roles. A code works once: the provider refuses a replay.
    pub async fn complete(
        &self,
        pending: PendingLogin,
        returned_state: &str,
        code: &str,
        now: SystemTime,
    ) -> Result<SsoIdentity, SsoError> {
        pending.check(self.issuer.as_str(), returned_state, now)?;
        if code.is_empty() {
            return Err(SsoError::EmptyCode);
        }
        let token = self
            .client
            .exchange_code(AuthorizationCode::new(code.to_owned()))
            .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier().to_owned()))
            .request_async(&self.http)
            .await
            .map_err(token_error)?;
        let id_token = token.id_token().ok_or(SsoError::MissingIdToken)?;
        let nonce = Nonce::new(pending.nonce().to_owned());
        let claims = self
            .verified_claims(id_token, &nonce, token.access_token())
            .await?;
        let mut profile = self.profile_from_id_token(&claims)?;
        if !profile.is_complete() {
            self.fill_from_userinfo(&mut profile, &claims, token.access_token())
                .await?;
        }
        check_email(
            profile.email.as_deref(),
            profile.email_verified,
            &self.config.allowed_email_domains,
        )?;
        let groups = profile.groups.unwrap_or_default();
        let roles = map_roles(
            &groups,
            &self.config.role_mapping,
            self.config.default_role.as_deref(),
        )?;
        Ok(SsoIdentity {
            subject: claims.subject().as_str().to_owned(),
            issuer: self.issuer.as_str().to_owned(),
            email: profile.email,
            name: profile.name,
            groups,
            roles,
        })
    }

    fn verifier(&self, jwks: CoreJsonWebKeySet) -> IdTokenVerifier<'static, CoreJsonWebKey> {
        let verifier = match &self.client_secret {
            Some(secret) => IdTokenVerifier::new_confidential_client(
                self.client_id.clone(),
                secret.clone(),
                self.issuer.clone(),
                jwks,
            ),
            None => IdTokenVerifier::new_public_client(
                self.client_id.clone(),
                self.issuer.clone(),
                jwks,
            ),
        };
        verifier.set_allowed_algs(self.signing_algs.clone())
    }

    fn current_jwks(&self) -> Arc<CoreJsonWebKeySet> {
        Arc::clone(&self.jwks.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Verifies the ID token with the cached key set; when no key matches (the provider rotated
    /// its keys), fetches the key set once more and tries again.
    async fn verified_claims(
        &self,
        id_token: &IdTokenX,
        nonce: &Nonce,
        access_token: &AccessToken,
    ) -> Result<IdTokenClaimsX, SsoError> {
        let cached = self.current_jwks();
        match verify_id_token(
            &self.verifier((*cached).clone()),
            id_token,
            nonce,
            access_token,
        ) {
            Err(Verification::Claims(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            ))) => {}
            other => return other.map_err(Verification::into_error),
        }
        let fresh = JsonWebKeySet::fetch_async(&self.jwks_url, &self.http)
            .await
            .map_err(|error| discovery_error(self.issuer.as_str(), error))?;
        *self.jwks.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(fresh.clone());
        verify_id_token(&self.verifier(fresh), id_token, nonce, access_token)
            .map_err(Verification::into_error)
    }

    fn profile_from_id_token(&self, claims: &IdTokenClaimsX) -> Result<Profile, SsoError> {
        Ok(Profile {
            email: claims.email().map(|email| email.as_str().to_owned()),
            email_verified: claims.email().and(claims.email_verified()),
            name: claims
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str().to_owned()),
            groups: read_groups(
                &claims.additional_claims().claims,
                &self.config.groups_claim,
            )?,
        })
    }

    /// Fills what the ID token lacked from the userinfo endpoint, if the provider has one
    /// (`openidconnect` checks that its `sub` is the ID token's).
    async fn fill_from_userinfo(
        &self,
        profile: &mut Profile,
        claims: &IdTokenClaimsX,
        access_token: &AccessToken,
    ) -> Result<(), SsoError> {
        let Ok(request) = self
            .client
            .user_info(access_token.clone(), Some(claims.subject().clone()))
        else {
            return Ok(());
        };
        let info: UserInfoClaims<ExtraClaims, CoreGenderClaim> = request
            .request_async(&self.http)
            .await
            .map_err(userinfo_error)?;
        if profile.email.is_none() {
            profile.email = info.email().map(|email| email.as_str().to_owned());
            profile.email_verified = info.email().and(info.email_verified());
        }
        if profile.name.is_none() {
            profile.name = info
                .name()
                .and_then(|name| name.get(None))
                .map(|name| name.as_str().to_owned());
        }
        if profile.groups.is_none() {
            profile.groups =
                read_groups(&info.additional_claims().claims, &self.config.groups_claim)?;
        }
        Ok(())
    }
}

/// Why an ID token failed: its claims, or the `at_hash` binding to the access token.
enum Verification {
    Claims(ClaimsVerificationError),
    AccessTokenHash,
}

impl Verification {
    fn into_error(self) -> SsoError {
        match self {
            Self::Claims(error) => SsoError::InvalidIdToken {
                reason: chain(&error),
            },
            Self::AccessTokenHash => SsoError::AccessTokenHashMismatch,
        }
    }
}

fn verify_id_token(
    verifier: &IdTokenVerifier<'_, CoreJsonWebKey>,
    id_token: &IdTokenX,
    nonce: &Nonce,
    access_token: &AccessToken,
) -> Result<IdTokenClaimsX, Verification> {
    let claims = id_token
        .claims(verifier, nonce)
        .map_err(Verification::Claims)?;
    if let Some(expected) = claims.access_token_hash() {
        let signature =
            |error| Verification::Claims(ClaimsVerificationError::SignatureVerification(error));
        let alg = id_token.signing_alg().map_err(signature)?;
        let key = id_token.signing_key(verifier).map_err(signature)?;
        let actual = AccessTokenHash::from_token(access_token, alg, key)
            .map_err(|_| Verification::AccessTokenHash)?;
        if actual != *expected {
            return Err(Verification::AccessTokenHash);
        }
    }
    Ok(claims.clone())
}

/// The configured scopes, or the defaults plus `groups` when the provider advertises it.
fn requested_scopes(config: &OidcConfig, metadata: &ProviderMetadataX) -> Vec<Scope> {
    let mut scopes: Vec<String> = if config.scopes.is_empty() {
        let mut scopes: Vec<String> = DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect();
        let groups = Scope::new("groups".to_owned());
        if metadata
            .scopes_supported()
            .is_some_and(|supported| supported.contains(&groups))
        {
            scopes.push(groups.to_string());
        }
        scopes
    } else {
        config.scopes.clone()
    };
    // `openidconnect` always adds `openid` itself.
    scopes.retain(|scope| scope != "openid" && !scope.is_empty());
    scopes.dedup();
    scopes.into_iter().map(Scope::new).collect()
}

/// HTTP Basic (the spec's default) unless the provider lists only `client_secret_post`.
fn token_auth_type(metadata: &ProviderMetadataX) -> AuthType {
    match metadata.token_endpoint_auth_methods_supported() {
        Some(methods)
            if !methods.contains(&CoreClientAuthMethod::ClientSecretBasic)
                && methods.contains(&CoreClientAuthMethod::ClientSecretPost) =>
        {
            AuthType::RequestBody
        }
        _ => AuthType::BasicAuth,
    }
}

/// Every endpoint the client will call or send the browser to must be https (or loopback).
fn check_endpoints(metadata: &ProviderMetadataX) -> Result<(), SsoError> {
    secure_url(
        "authorization endpoint",
        metadata.authorization_endpoint().as_str(),
    )?;
    secure_url("jwks_uri", metadata.jwks_uri().as_str())?;
    if let Some(token) = metadata.token_endpoint() {
        secure_url("token endpoint", token.as_str())?;
    }
    if let Some(userinfo) = metadata.userinfo_endpoint() {
        secure_url("userinfo endpoint", userinfo.as_str())?;
    }
    Ok(())
}

fn discovery_error(issuer: &str, error: DiscoveryError<HttpError>) -> SsoError {
    let reason = match error {
        DiscoveryError::Parse(error) => {
            format!("could not parse its answer at `{}`", error.path())
        }
        DiscoveryError::Request(error) => chain(&error),
        DiscoveryError::Response(_, _, message) => message,
        DiscoveryError::Validation(message) | DiscoveryError::Other(message) => message,
        other => chain(&other),
    };
    SsoError::Discovery {
        issuer: issuer.to_owned(),
        reason,
    }
}

fn token_error(error: TokenErrorX) -> SsoError {
    match error {
        RequestTokenError::ServerResponse(response) => SsoError::CodeRejected {
            error: match response.error_description() {
                Some(description) => format!("{}: {description}", response.error()),
                None => response.error().to_string(),
            },
        },
        RequestTokenError::Request(error) => SsoError::TokenRequest {
            reason: chain(&error),
        },
        // Only the JSON path: a parse error's message may quote a token.
        RequestTokenError::Parse(error, _body) => SsoError::TokenRequest {
            reason: format!("could not parse the token response at `{}`", error.path()),
        },
        RequestTokenError::Other(message) => SsoError::TokenRequest { reason: message },
    }
}

fn userinfo_error(error: UserInfoError<HttpError>) -> SsoError {
    let reason = match error {
        UserInfoError::Parse(error) => {
            format!(
                "could not parse the userinfo response at `{}`",
                error.path()
            )
        }
        UserInfoError::Response(_, _, message) => message,
        other => chain(&other),
    };
    SsoError::UserInfo { reason }
}
