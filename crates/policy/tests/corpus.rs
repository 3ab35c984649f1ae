//! The built-in policies' test corpus (`cedar/tests/defaults.toml`) passes, and corpus files
//! that do not parse, or cases that fail, are reported precisely.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use covault_policy::{Expectation, PolicyEngine, PolicyError, parse_corpus, run_corpus};

const DEFAULTS: &str = include_str!("../cedar/tests/defaults.toml");

#[test]
fn the_default_corpus_passes() {
    let cases = parse_corpus("defaults.toml", DEFAULTS).unwrap();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    assert!(cases.iter().all(|c| c.expect_policies.is_some()));
    let engine = PolicyEngine::builtin().unwrap();
    let failures: Vec<String> = run_corpus(&engine, &cases)
        .into_iter()
        .filter(|r| !r.passed)
        .map(|r| r.to_string())
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for case in &cases {
        let reference =
            engine.decide_reference(&case.principal, case.action, &case.resource, &case.facts());
        let fast = engine.decide(&case.principal, case.action, &case.resource, &case.facts());
        assert_eq!(reference.policies(), fast.policies(), "{}", case.name);
        assert_eq!(reference.is_allowed(), fast.is_allowed(), "{}", case.name);
    }
}

#[test]
fn failing_cases_say_what_differed() {
    let text = r#"
[[case]]
name = "wrong on purpose"
principal = { role = "viewer" }
action = "file.read"
resource = { type = "file", path = "/a", tier = "confidential" }
expect = "allow"
expect_policies = ["viewer-read"]
"#;
    let cases = parse_corpus("wrong.toml", text).unwrap();
    let results = run_corpus(&PolicyEngine::builtin().unwrap(), &cases);
    let result = &results[0];
    assert!(!result.passed);
    assert_eq!(
        (result.expected, result.got),
        (Expectation::Allow, Expectation::Deny)
    );
    assert!(result.policies.is_empty());
    assert_eq!(
        result.to_string(),
        "FAIL  wrong on purpose: expected allow, got deny; expected policies [viewer-read], got [] \
         (no policy permits file.read for role(s) viewer on this resource)"
    );
}

#[test]
fn bad_corpora_are_refused() {
    let typo = "[[case]]\nname = \"x\"\nprincipal = { role = \"viewer\" }\naction = \"file.read\"\nresource = { type = \"workspace\" }\nexpect = \"allow\"\nexpectt = \"deny\"\n";
    let err = parse_corpus("typo.toml", typo).unwrap_err();
    assert!(
        matches!(&err, PolicyError::CorpusSyntax { file, .. } if file == "typo.toml"),
        "{err:?}"
    );
    assert!(err.to_string().contains("expectt"), "{err}");
    assert!(err.to_string().contains("line 7"), "{err}");

    let action = typo
        .replace("file.read", "file.reed")
        .replace("expectt = \"deny\"\n", "");
    let err = parse_corpus("action.toml", &action).unwrap_err();
    assert_eq!(
        err.to_string(),
        "test corpus `action.toml`, case `x`: unknown action `file.reed`: see `covault policy actions`"
    );

    let resource = typo
        .replace("workspace", "planet")
        .replace("expectt = \"deny\"\n", "");
    assert!(matches!(
        parse_corpus("r.toml", &resource),
        Err(PolicyError::CorpusSyntax { .. })
    ));

    let scope = typo.replace(
        "expectt = \"deny\"\n",
        "context = { scope = { paths = [\"../etc\"] } }\n",
    );
    let err = parse_corpus("scope.toml", &scope).unwrap_err();
    assert!(
        matches!(&err, PolicyError::CorpusCase { case, .. } if case == "x"),
        "{err:?}"
    );
}
