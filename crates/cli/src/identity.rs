//! Identity commands over the REST API: `user`, `group`, `token`, `mfa` and `access-review`.
//! Secrets (new tokens, the otpauth URI, recovery codes) are printed once, to standard output,
//! and nowhere else.

use std::process::ExitCode;

use anyhow::{Context, bail};
use covault_guard::{AccessReview, GroupInfo, PrincipalDetail, TokenInfo};
use reqwest::Method;
use serde_json::{Value, json};

use crate::args::{Command, GroupCommand, MfaCommand, TokenCommand, UserCommand};
use crate::client::{Client, print_line, send};

fn show_json<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    print_line(&serde_json::to_string_pretty(value)?);
    Ok(())
}

/// `30m`, `12h`, `90d`, `45s` or plain seconds → seconds.
pub(crate) fn parse_duration_s(text: &str) -> anyhow::Result<i64> {
    let text = text.trim();
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let n: i64 = digits
        .parse()
        .with_context(|| format!("`{text}` is not a duration such as 30m, 12h or 90d"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => bail!("`{text}` is not a duration such as 30m, 12h or 90d"),
    };
    Ok(n.saturating_mul(factor))
}

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

pub async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::User { command } => user(command).await?,
        Command::Group { command } => group(command).await?,
        Command::Token { command } => token(command).await?,
        Command::Mfa { command } => mfa(command).await?,
        Command::AccessReview {
            unused_days,
            json,
            client,
        } => {
            let c = Client::new(&client)?;
            let review: AccessReview = send(
                c.request(Method::GET, "/v1/access-review", None)
                    .query(&[("unused_days", unused_days)]),
            )
            .await?
            .json()
            .await?;
            if json {
                show_json(&review)?;
            } else {
                print_review(&review);
            }
            if !review.findings.is_empty() {
                return Ok(ExitCode::from(1));
            }
        }
        _ => bail!("not an identity command"),
    }
    Ok(ExitCode::SUCCESS)
}

fn print_review(review: &AccessReview) {
    if review.findings.is_empty() {
        eprintln!(
            "access review: nothing to report ({} days)",
            review.unused_days
        );
        return;
    }
    print_line(&format!(
        "{:<22} {:<20} {:<18} {:<16} {}",
        "FINDING", "PRINCIPAL", "TOKEN", "ROLE", "DETAIL"
    ));
    for f in &review.findings {
        print_line(&format!(
            "{:<22} {:<20} {:<18} {:<16} {}",
            f.kind,
            f.principal_name,
            f.token_id.as_deref().unwrap_or("-"),
            f.role.as_deref().unwrap_or("-"),
            f.detail
        ));
    }
}

async fn user(command: UserCommand) -> anyhow::Result<()> {
    match command {
        UserCommand::List { json, client } => {
            let all: Vec<PrincipalDetail> =
                send(Client::new(&client)?.request(Method::GET, "/v1/principals", None))
                    .await?
                    .json()
                    .await?;
            if json {
                return show_json(&all);
            }
            print_line(&format!(
                "{:<22} {:<20} {:<8} {:<15} {:<4} {:<8} GROUPS",
                "ID", "NAME", "KIND", "ROLE", "MFA", "ENABLED"
            ));
            for p in &all {
                print_line(&format!(
                    "{:<22} {:<20} {:<8} {:<15} {:<4} {:<8} {}",
                    p.id,
                    p.name,
                    format!("{:?}", p.kind).to_lowercase(),
                    p.role,
                    if p.mfa_enrolled { "yes" } else { "no" },
                    p.enabled,
                    p.groups.join(",")
                ));
            }
        }
        UserCommand::Show { principal, client } => {
            let route = format!("/v1/principals/{}", encode(&principal));
            let p: Value = send(Client::new(&client)?.request(Method::GET, &route, None))
                .await?
                .json()
                .await?;
            show_json(&p)?;
        }
        UserCommand::Create {
            name,
            role,
            service,
            token,
            client,
        } => {
            let body = json!({
                "name": name, "role": role, "token": token,
                "kind": if service { "service" } else { "user" },
            });
            let created: Value = send(
                Client::new(&client)?
                    .request(Method::POST, "/v1/principals", None)
                    .json(&body),
            )
            .await?
            .json()
            .await?;
            eprintln!(
                "created {} ({}) with role {role}",
                created["principal"]["name"].as_str().unwrap_or(""),
                created["principal"]["id"].as_str().unwrap_or("")
            );
            if let Some(secret) = created["token"].as_str() {
                eprintln!("API token (shown once; store it now):");
                print_line(secret);
            }
        }
        UserCommand::SetRole {
            principal,
            role,
            client,
        } => patch(&client, &principal, json!({ "role": role })).await?,
        UserCommand::Disable { principal, client } => {
            patch(&client, &principal, json!({ "enabled": false })).await?;
        }
        UserCommand::Enable { principal, client } => {
            patch(&client, &principal, json!({ "enabled": true })).await?;
        }
    }
    Ok(())
}

async fn patch(
    client: &crate::args::ClientArgs,
    principal: &str,
    body: Value,
) -> anyhow::Result<()> {
    let route = format!("/v1/principals/{}", encode(principal));
    let p: PrincipalDetail = send(
        Client::new(client)?
            .request(Method::PATCH, &route, None)
            .json(&body),
    )
    .await?
    .json()
    .await?;
    eprintln!(
        "{} ({}): role {}, {}",
        p.name,
        p.id,
        p.role,
        if p.enabled { "enabled" } else { "disabled" }
    );
    Ok(())
}

async fn group(command: GroupCommand) -> anyhow::Result<()> {
    match command {
        GroupCommand::List { json, client } => {
            let all: Vec<GroupInfo> =
                send(Client::new(&client)?.request(Method::GET, "/v1/groups", None))
                    .await?
                    .json()
                    .await?;
            if json {
                return show_json(&all);
            }
            print_line(&format!("{:<24} {:<30} MEMBERS", "GROUP", "ROLES"));
            for g in &all {
                print_line(&format!(
                    "{:<24} {:<30} {}",
                    g.name,
                    g.roles.join(","),
                    g.members.len()
                ));
            }
        }
        GroupCommand::Set {
            name,
            roles,
            description,
            client,
        } => {
            let route = format!("/v1/groups/{}", encode(&name));
            send(
                Client::new(&client)?
                    .request(Method::PUT, &route, None)
                    .json(&json!({ "description": description, "roles": roles })),
            )
            .await?;
            eprintln!("group {name} grants: {}", roles.join(", "));
        }
        GroupCommand::Delete { name, client } => {
            let route = format!("/v1/groups/{}", encode(&name));
            send(Client::new(&client)?.request(Method::DELETE, &route, None)).await?;
            eprintln!("deleted group {name}");
        }
        GroupCommand::Add {
            group,
            principal,
            client,
        } => {
            let route = format!(
                "/v1/groups/{}/members/{}",
                encode(&group),
                encode(&principal)
            );
            send(Client::new(&client)?.request(Method::PUT, &route, None)).await?;
            eprintln!("added {principal} to {group}");
        }
        GroupCommand::Remove {
            group,
            principal,
            client,
        } => {
            let route = format!(
                "/v1/groups/{}/members/{}",
                encode(&group),
                encode(&principal)
            );
            send(Client::new(&client)?.request(Method::DELETE, &route, None)).await?;
            eprintln!("removed {principal} from {group}");
        }
    }
    Ok(())
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    match command {
        TokenCommand::Create {
            principal,
            description,
            expires_in,
            actions,
            paths,
            max_tier,
            providers,
            models,
            allow_ip,
            client,
        } => {
            let expires_in_s = expires_in.as_deref().map(parse_duration_s).transpose()?;
            let body = json!({
                "principal": principal,
                "description": description,
                "expires_in_s": expires_in_s,
                "scope": {
                    "actions": actions, "paths": paths, "max_tier": max_tier,
                    "providers": providers, "models": models, "allowed_ips": allow_ip,
                },
            });
            let issued: Value = send(
                Client::new(&client)?
                    .request(Method::POST, "/v1/tokens", None)
                    .json(&body),
            )
            .await?
            .json()
            .await?;
            eprintln!(
                "token {} expires {} (shown once; store it now):",
                issued["token"]["id"].as_str().unwrap_or(""),
                issued["token"]["expires_at"].as_str().unwrap_or("never")
            );
            print_line(issued["secret"].as_str().unwrap_or(""));
        }
        TokenCommand::List {
            principal,
            json,
            client,
        } => {
            let mut request = Client::new(&client)?.request(Method::GET, "/v1/tokens", None);
            if let Some(p) = &principal {
                request = request.query(&[("principal", p)]);
            }
            let all: Vec<TokenInfo> = send(request).await?.json().await?;
            if json {
                return show_json(&all);
            }
            print_line(&format!(
                "{:<18} {:<9} {:<21} {:<21} {:<16} DESCRIPTION",
                "ID", "STATE", "EXPIRES", "LAST USED", "FROM"
            ));
            for t in &all {
                print_line(&format!(
                    "{:<18} {:<9} {:<21} {:<21} {:<16} {}",
                    t.id,
                    t.state,
                    t.expires_at.as_deref().unwrap_or("never"),
                    t.last_used_at.as_deref().unwrap_or("never"),
                    t.last_used_addr.as_deref().unwrap_or("-"),
                    t.description
                ));
            }
        }
        TokenCommand::Revoke { id, client } => {
            let route = format!("/v1/tokens/{}", encode(&id));
            send(Client::new(&client)?.request(Method::DELETE, &route, None)).await?;
            eprintln!("revoked token {id}: it stops working now");
        }
        TokenCommand::Rotate {
            id,
            overlap,
            client,
        } => {
            let overlap_s = overlap.as_deref().map(parse_duration_s).transpose()?;
            let route = format!("/v1/tokens/{}/rotate", encode(&id));
            let issued: Value = send(
                Client::new(&client)?
                    .request(Method::POST, &route, None)
                    .json(&json!({ "overlap_s": overlap_s })),
            )
            .await?
            .json()
            .await?;
            eprintln!(
                "token {id} rotated into {}; the old secret keeps working for the overlap window. New token (shown once):",
                issued["token"]["id"].as_str().unwrap_or("")
            );
            print_line(issued["secret"].as_str().unwrap_or(""));
        }
    }
    Ok(())
}

async fn mfa(command: MfaCommand) -> anyhow::Result<()> {
    match command {
        MfaCommand::Enroll { svg, client } => {
            let info: Value =
                send(Client::new(&client)?.request(Method::POST, "/v1/mfa/enroll", None))
                    .await?
                    .json()
                    .await?;
            let uri = info["otpauth_uri"].as_str().unwrap_or("");
            if let Some(path) = svg {
                std::fs::write(&path, info["qr_svg"].as_str().unwrap_or(""))
                    .with_context(|| format!("writing {}", path.display()))?;
                eprintln!("QR code written to {}", path.display());
            }
            print_line(&covault_guard::qr_terminal(uri).unwrap_or_default());
            eprintln!("scan the code (or enter this URI; it holds the secret):");
            print_line(uri);
            eprintln!("then run `covault mfa confirm <code>` with the app's current code");
        }
        MfaCommand::Confirm { code, client } => {
            let codes: Value = send(
                Client::new(&client)?
                    .request(Method::POST, "/v1/mfa/confirm", None)
                    .json(&json!({ "code": code })),
            )
            .await?
            .json()
            .await?;
            eprintln!(
                "MFA enrolled. Recovery codes (each works once; shown once; keep them offline):"
            );
            for c in codes["recovery_codes"].as_array().into_iter().flatten() {
                print_line(c.as_str().unwrap_or(""));
            }
        }
        MfaCommand::Reset { principal, client } => {
            let route = format!("/v1/principals/{}/mfa/reset", encode(&principal));
            send(Client::new(&client)?.request(Method::POST, &route, None)).await?;
            eprintln!("removed the authenticator of {principal}: they must enrol again");
        }
    }
    Ok(())
}
