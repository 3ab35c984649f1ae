//! The OpenAPI document, generated from the handlers' annotations and served at
//! `/openapi.json`.

use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};

use crate::{audit, error, files, identity};

#[derive(OpenApi)]
#[openapi(
    info(title = "covault", description = "Encrypted, versioned workspace behind one authorize → act → audit path."),
    paths(identity::whoami, identity::principals, identity::create_principal,
        identity::principal, identity::update_principal, identity::mfa_reset, identity::groups,
        identity::put_group, identity::delete_group, identity::add_member,
        identity::remove_member, identity::tokens, identity::create_token,
        identity::revoke_token, identity::rotate_token, identity::mfa_enroll,
        identity::mfa_confirm, identity::access_review, files::list, files::put, files::get, files::delete, files::stat,
        files::history, files::restore, files::purge, files::label, audit::events,
        audit::checkpoints, audit::proof, audit::consistency),
    components(schemas(error::ErrorBody, error::ErrorDetail, files::RestoreBody, files::LabelBody,
        audit::Checkpoints)),
    modifiers(&BearerAuth),
    security(("bearer" = []))
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document as JSON.
pub fn openapi_json() -> String {
    ApiDoc::openapi()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}
