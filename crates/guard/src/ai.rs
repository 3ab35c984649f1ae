//! The vault's side of AI calls: the `ai.send` decision for a provider and model, the one audit
//! event per call (committed with the usage it adds to monthly budgets), provider API keys
//! sealed in the keyring, and reading workspace files for `covault://` references under the
//! caller's own permissions.

use covault_audit::{AiFields, AuditEvent, Outcome};
use covault_policy::{Action, Decision, Resource, Tier};
use covault_store::{Usage, UsageDelta};
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::vault::{Facts, base_event};
use crate::{Caller, GuardError, Vault};

/// Longest provider API key accepted.
const MAX_PROVIDER_KEY: usize = 4096;

/// Where an AI call goes.
#[derive(Clone, Copy, Debug)]
pub struct AiTarget<'a> {
    pub provider: &'a str,
    /// The highest tier the provider is cleared to receive.
    pub clearance: Tier,
    pub model: &'a str,
}

/// Permission for one AI call, holding its audit event until the call ends.
#[derive(Debug)]
pub struct AiGrant {
    event: AuditEvent,
    principal_id: String,
    provider: String,
}

impl AiGrant {
    /// A second handle on the same call, for a supervisor that records the call should the task
    /// holding the grant die before finishing it. Finish only one of the two.
    pub fn for_failure(&self) -> AiGrant {
        AiGrant {
            event: self.event.clone(),
            principal_id: self.principal_id.clone(),
            provider: self.provider.clone(),
        }
    }
}

/// How a call ended, for its audit event (counts only).
#[derive(Clone, Debug, Default)]
pub struct AiOutcome {
    pub ai: AiFields,
    /// `None` on success; otherwise a short reason such as `upstream_error` or `dlp_stopped`.
    pub failure: Option<String>,
    /// Content-free details (latency, stream flag, DLP counts, upstream status).
    pub detail: serde_json::Value,
}

/// A workspace file read for a prompt.
pub struct AiFile {
    /// The file's text: a document's extracted text, its hidden parts labelled as such.
    pub text: String,
    pub tier: Tier,
    pub version: i64,
    /// Where the file hides instructions aimed at an AI (hidden content with injection
    /// evidence), as `what, where` descriptions; the gateway refuses such a prompt.
    pub hidden_injection: Vec<String>,
}

/// `YYYY-MM` of a time in milliseconds (UTC): the budget period.
pub fn month_of(at_ms: i64) -> String {
    let text = covault_audit::format_rfc3339(at_ms);
    text.get(..7).unwrap_or("0000-00").to_owned()
}

/// The usage subject of a principal (budgets per user or service).
pub fn principal_subject(id: &str) -> String {
    format!("principal:{id}")
}

/// The usage subject of a provider (budgets per provider).
pub fn provider_subject(name: &str) -> String {
    format!("provider:{name}")
}

fn valid_provider_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Vault {
    /// Decides `ai.send` of data up to `data_tier` to `target`. A denial is audited and
    /// returned; a grant carries the call's event, to be committed by [`Vault::finish_ai`].
    pub async fn authorize_ai(
        &self,
        caller: &Caller,
        target: AiTarget<'_>,
        data_tier: Tier,
    ) -> Result<AiGrant, GuardError> {
        let resource = Resource::Provider {
            name: target.provider.to_owned(),
            clearance: target.clearance,
        };
        let facts = Facts {
            data_tier: Some(data_tier),
            model: Some(target.model),
            ..Facts::default()
        };
        let mut event = base_event(caller, Action::AiSend, None);
        event.tier = Some(data_tier);
        event.ai = Some(AiFields {
            provider: target.provider.to_owned(),
            model: target.model.to_owned(),
            ..AiFields::default()
        });
        match self.decide(caller, Action::AiSend, &resource, &facts) {
            Decision::Deny(denial) => {
                event.outcome = Outcome::Denied;
                event.reason = denial.reason.clone();
                event.policies = denial.policies.clone();
                self.ws.append_audit(&event).await?;
                Err(crate::access::denial_error(denial))
            }
            Decision::Allow(permit) => {
                event.reason = "permitted".into();
                event.policies = permit.policies().to_vec();
                self.note_role_use(caller, permit.policies(), event.at_ms)
                    .await;
                Ok(AiGrant {
                    event,
                    principal_id: caller.principal.id.clone(),
                    provider: target.provider.to_owned(),
                })
            }
        }
    }

    /// Whether the caller may send public data to `target` (for listings; not audited).
    pub fn may_send_ai(&self, caller: &Caller, target: AiTarget<'_>) -> bool {
        let resource = Resource::Provider {
            name: target.provider.to_owned(),
            clearance: target.clearance,
        };
        let facts = Facts {
            data_tier: Some(Tier::Public),
            model: Some(target.model),
            ..Facts::default()
        };
        matches!(
            self.decide(caller, Action::AiSend, &resource, &facts),
            Decision::Allow(_)
        )
    }

    /// Records a request refused before it reached a provider (blocked content, injection,
    /// limits, bad input): one denied or failed `ai.send` event. If it cannot be recorded the
    /// error says so (the request is refused either way).
    pub async fn refuse_ai(
        &self,
        caller: &Caller,
        target: AiTarget<'_>,
        outcome: Outcome,
        reason: &str,
        ai: AiFields,
        detail: serde_json::Value,
    ) -> Result<(), GuardError> {
        let mut event = base_event(caller, Action::AiSend, None);
        event.outcome = outcome;
        event.reason = reason.to_owned();
        event.ai = Some(AiFields {
            provider: target.provider.to_owned(),
            model: target.model.to_owned(),
            ..ai
        });
        event.detail = detail;
        self.ws.append_audit(&event).await?;
        Ok(())
    }

    /// Counts the call against the caller's and the provider's usage before it is sent. If
    /// this fails (the database takes no writes), the call must not go out: its audit event
    /// could not be recorded either.
    pub async fn reserve_ai(&self, grant: &AiGrant) -> Result<(), GuardError> {
        let subjects = [
            principal_subject(&grant.principal_id),
            provider_subject(&grant.provider),
        ];
        self.ws
            .gateway()
            .reserve_ai_call(&subjects, &month_of(grant.event.at_ms))
            .await?;
        Ok(())
    }

    /// Commits the call's event and the tokens it used (per principal and per provider). Until
    /// this returns `Ok`, the caller must not release the end of the answer.
    pub async fn finish_ai(&self, grant: AiGrant, outcome: AiOutcome) -> Result<(), GuardError> {
        let AiGrant {
            mut event,
            principal_id,
            provider,
        } = grant;
        let tokens = outcome.ai.tokens_in.saturating_add(outcome.ai.tokens_out);
        let tokens = i64::try_from(tokens).unwrap_or(i64::MAX);
        if let Some(why) = outcome.failure {
            event.outcome = Outcome::Failed;
            event.reason = why;
        }
        let ai = event.ai.take().unwrap_or_default();
        event.ai = Some(AiFields {
            provider: ai.provider,
            model: ai.model,
            ..outcome.ai
        });
        event.detail = outcome.detail;
        let month = month_of(event.at_ms);
        let usage = [
            UsageDelta {
                subject: principal_subject(&principal_id),
                month: month.clone(),
                tokens,
            },
            UsageDelta {
                subject: provider_subject(&provider),
                month,
                tokens,
            },
        ];
        self.ws.gateway().record_ai_call(&event, &usage).await?;
        Ok(())
    }

    /// Tokens and calls of a usage subject in a month (see [`principal_subject`]).
    pub async fn ai_usage(&self, subject: &str, month: &str) -> Result<Usage, GuardError> {
        Ok(self.ws.gateway().usage(subject, month).await?)
    }

    /// Stores a provider's API key, sealed in the keyring (the local operator only: the key is
    /// keyring material). The event names the provider, never the key.
    pub async fn set_provider_key(
        &self,
        caller: &Caller,
        name: &str,
        key: &SecretString,
    ) -> Result<(), GuardError> {
        check_provider_name(name)?;
        let raw = key.expose_secret().trim();
        if raw.is_empty() || raw.len() > MAX_PROVIDER_KEY || raw.chars().any(char::is_control) {
            return Err(GuardError::BadRequest(format!(
                "a provider API key is 1 to {MAX_PROVIDER_KEY} printable characters"
            )));
        }
        self.guarded(
            caller,
            Action::KeysRotate,
            Resource::Workspace,
            None,
            |mut event| async move {
                event.detail = serde_json::json!({ "provider_key": name, "change": "set" });
                let sealed = self.ws.seal_provider_key(name, raw.as_bytes())?;
                self.ws
                    .gateway()
                    .set_provider_key(name, &sealed, &event)
                    .await?;
                Ok(())
            },
        )
        .await
    }

    /// Removes a provider's API key (the local operator only).
    pub async fn delete_provider_key(&self, caller: &Caller, name: &str) -> Result<(), GuardError> {
        check_provider_name(name)?;
        self.guarded(
            caller,
            Action::KeysRotate,
            Resource::Workspace,
            None,
            |mut event| async move {
                event.detail = serde_json::json!({ "provider_key": name, "change": "delete" });
                if self.ws.gateway().delete_provider_key(name, &event).await? {
                    Ok(())
                } else {
                    Err(covault_store::StoreError::NotFound(format!("provider key {name}")).into())
                }
            },
        )
        .await
    }

    /// Providers that have a key, with when it was set.
    pub async fn provider_keys(&self) -> Result<Vec<(String, i64)>, GuardError> {
        Ok(self.ws.gateway().provider_keys().await?)
    }

    /// The plaintext API key of a provider, for the gateway's upstream request only. Never
    /// log it, return it to a client, or keep it beyond the request.
    pub async fn provider_key(&self, name: &str) -> Result<Option<SecretString>, GuardError> {
        let Some(sealed) = self.ws.gateway().provider_key(name).await? else {
            return Ok(None);
        };
        let key = self.ws.open_provider_key(name, &sealed)?;
        let text = Zeroizing::new(String::from_utf8_lossy(&key).into_owned());
        Ok(Some(SecretString::from(text.as_str())))
    }

    /// Reads the current version of `raw_path` as text for a prompt, under the caller's
    /// permission to read it (audited as a read). At most `limit` bytes.
    pub async fn read_for_ai(
        &self,
        caller: &Caller,
        raw_path: &str,
        limit: u64,
    ) -> Result<AiFile, GuardError> {
        let download = self.get(caller, raw_path, None).await?;
        if download.info.size > limit {
            return Err(GuardError::BadRequest(format!(
                "covault://{raw_path} is {} bytes; a prompt may include at most {limit}",
                download.info.size
            )));
        }
        let mut bytes = Vec::with_capacity(usize::try_from(download.info.size).unwrap_or(0));
        let mut body = download.body;
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(GuardError::BadRequest(format!(
                    "covault://{raw_path} exceeds the {limit}-byte prompt file limit"
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        let (text, hidden_injection) = prompt_text(raw_path, bytes).await?;
        // The file's current label decides: lowering one is a privileged, audited act.
        let tier = match self.ws.parse_path(raw_path) {
            Ok(path) => self
                .ws
                .file(&path)
                .await?
                .map_or(download.info.tier, |f| f.tier),
            Err(_) => download.info.tier,
        };
        Ok(AiFile {
            text,
            tier,
            version: download.info.version,
            hidden_injection,
        })
    }
}

/// A file's text for a prompt, through the same extraction as the store's classification:
/// documents are extracted (hidden parts labelled), text in any common encoding decoded.
/// Binary content and documents that cannot be read are refused, never sent half-read.
async fn prompt_text(path: &str, bytes: Vec<u8>) -> Result<(String, Vec<String>), GuardError> {
    use covault_extract::Format;
    let format = Format::detect(&bytes, Some(path));
    match format {
        // Text and data files go as they are (their structure is the point), decoded.
        Format::Text | Format::Csv | Format::Tsv | Format::Json | Format::Yaml | Format::Toml => {
            return Ok((covault_extract::decode_text(&bytes), Vec::new()));
        }
        Format::Binary => {
            return Err(GuardError::BadRequest(format!(
                "covault://{path} is binary content of no format covault reads; only text and documents can go into a prompt"
            )));
        }
        _ => {}
    }
    let name = path.to_owned();
    let work = tokio::task::spawn_blocking(move || {
        let doc = covault_extract::extract_as(&bytes, format, &covault_extract::Limits::default())?;
        let scanner = covault_store::default_scanner();
        Ok::<_, covault_extract::ExtractError>((doc, scanner))
    });
    let (doc, scanner) = match work.await {
        Ok(Ok(done)) => done,
        Ok(Err(e)) => {
            return Err(GuardError::BadRequest(format!(
                "covault://{name} cannot be read for a prompt: {e}"
            )));
        }
        Err(_) => {
            return Err(GuardError::BadRequest(format!(
                "covault://{name} cannot be read for a prompt: extraction failed"
            )));
        }
    };
    if doc.unread > 0 {
        return Err(GuardError::BadRequest(format!(
            "covault://{name} cannot be read for a prompt: {}",
            doc.notes.join("; ")
        )));
    }
    // Fail closed: no scanner, no prompt.
    let scanner = scanner?;
    let scan = covault_extract::scan_document(&scanner, &doc);
    let hidden = scan
        .hidden_injection
        .iter()
        .filter_map(|&i| doc.parts.get(i))
        .map(|p| {
            let what = p.hidden.map_or("hidden content", |h| h.describe());
            format!("{what}, {}", p.location)
        })
        .collect();
    Ok((doc.to_prompt_text(), hidden))
}

fn check_provider_name(name: &str) -> Result<(), GuardError> {
    if valid_provider_name(name) {
        Ok(())
    } else {
        Err(GuardError::BadRequest(
            "a provider name is 1 to 64 characters from A-Z a-z 0-9 - _ .".into(),
        ))
    }
}
