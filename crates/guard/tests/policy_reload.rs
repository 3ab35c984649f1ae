//! Policy files on a live vault: a custom role from a file takes effect, a reload with a bad
//! file is refused with the file named and the set in force stays, and only the operator may
//! reload. Audited either way.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use covault_guard::{InitOptions, NewKekSource, NewPrincipal, PrincipalKind, Vault, VaultLimits};
use futures_util::stream;
use zeroize::Zeroizing;

const REVIEWERS: &str = r#"
@id("reviewers-read") @role("reviewer")
permit (principal in Role::"reviewer", action == Action::"file.read", resource is File)
when { resource.tier <= 1 };
"#;

#[tokio::test]
async fn a_bad_policy_file_never_replaces_the_set_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let policies = dir.path().join("policies");
    std::fs::create_dir_all(&policies).unwrap();
    std::fs::write(policies.join("reviewers.cedar"), REVIEWERS).unwrap();
    let mut limits = VaultLimits::default();
    limits.access.policy_dir = Some(policies.clone());
    let key = covault_guard::generate_key_file().unwrap();
    let init = Vault::init(InitOptions {
        data_dir: dir.path().join("data"),
        source: NewKekSource::KeyFile(Zeroizing::new(key.as_bytes().to_vec())),
        admin_name: "admin".into(),
        limits,
    })
    .await
    .unwrap();
    let (vault, operator) = (init.vault, init.operator);
    let (_, token) = vault
        .create_principal(
            &operator,
            NewPrincipal {
                name: "rita".into(),
                kind: PrincipalKind::User,
                role: "reviewer".into(),
                token_expires_at_ms: Some(None),
            },
        )
        .await
        .unwrap();
    let rita = vault
        .authenticate(&token.unwrap(), None, Default::default())
        .await
        .unwrap();
    let body = Box::pin(stream::iter([Ok(bytes::Bytes::from_static(b"notes\n"))]));
    vault
        .put(
            &operator,
            "/docs/a.txt",
            Some(covault_guard::Tier::Internal),
            body,
        )
        .await
        .unwrap();
    assert!(
        vault.get(&rita, "/docs/a.txt", None).await.is_ok(),
        "custom role reads"
    );

    // A syntax error: refused, naming the file; the reviewer still reads.
    std::fs::write(
        policies.join("broken.cedar"),
        "permit (principal, action, resource",
    )
    .unwrap();
    let err = vault
        .reload_policies(&operator)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.cedar"), "{err}");
    assert!(
        vault.get(&rita, "/docs/a.txt", None).await.is_ok(),
        "old set in force"
    );
    // Only the operator reloads.
    assert!(vault.reload_policies(&rita).await.is_err());

    // Removing the role's file and reloading takes the permission away.
    std::fs::remove_file(policies.join("broken.cedar")).unwrap();
    std::fs::remove_file(policies.join("reviewers.cedar")).unwrap();
    assert_eq!(
        vault.reload_policies(&operator).await.unwrap(),
        vault.policy_engine().policies().len()
    );
    assert!(vault.get(&rita, "/docs/a.txt", None).await.is_err());

    let events = vault.recent_audit(&operator, 50).await.unwrap();
    let reloads: Vec<_> = events
        .iter()
        .filter(|e| e.action == "policy.reload")
        .collect();
    assert_eq!(reloads.len(), 2);
    assert!(
        reloads
            .iter()
            .any(|e| e.outcome == covault_guard::Outcome::Failed)
    );
}
