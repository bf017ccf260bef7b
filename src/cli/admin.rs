//! `vhgate admin registry propose | list | approve | reject | impact`: the partner registry's
//! change requests (four-eyes) from a shell, through the admin API, and the impact preview
//! arguments and output shared with `vhgate policy impact`.

use std::io::Read;
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Subcommand;
use serde_json::Value;
use vhgate::admin::registry::{describe, ChangeRequest, RegistryChange};

use super::AdminArgs;

#[derive(Subcommand)]
pub enum AdminCommand {
    /// The partner registry: partners, token keys and client certificates, changed by one
    /// administrator's proposal and another's approval.
    Registry {
        #[command(subcommand)]
        command: RegistryCommand,
    },
}

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Propose a change (POST /v1/admin/registry/changes), print its id and preview its impact
    /// on recent requests.
    Propose {
        /// JSON file with the operations, `{"changes": [{"kind": ...}], "note": "..."}` or just
        /// the list; `-` reads standard input.
        file: PathBuf,
        /// Why (e.g. the convenant addendum); replaces a note in the file.
        #[arg(long)]
        note: Option<String>,
        /// Do not preview the impact.
        #[arg(long)]
        no_impact: bool,
        /// Print the record (and the impact report) as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// List the change requests and their four-eyes decisions, newest first.
    List {
        /// Only the proposals waiting for a decision.
        #[arg(long)]
        pending: bool,
        /// Print the JSON as received.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Approve (and apply) a change another administrator proposed.
    Approve {
        id: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Reject a proposed change, with a reason.
    Reject {
        id: String,
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// What a change would decide differently on recent requests.
    Impact {
        id: String,
        #[command(flatten)]
        window: ImpactArgs,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// Which recorded requests an impact preview replays, and against what.
#[derive(clap::Args, Clone, Debug)]
pub struct ImpactArgs {
    /// The last N requests.
    #[arg(long, conflicts_with_all = ["since", "until"])]
    last: Option<u64>,
    /// Requests from this time (RFC 3339) ...
    #[arg(long)]
    since: Option<String>,
    /// ... until this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Compare with the decisions as recorded, or with the policy in force now on the same
    /// requests (default: recorded for a bundle, active for a registry change).
    #[arg(long, value_parser = ["recorded", "active"])]
    baseline: Option<String>,
}

impl ImpactArgs {
    /// The query string (with its `?`, or empty); bad times fail before any request.
    pub fn query(&self) -> anyhow::Result<String> {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        if let Some(b) = &self.baseline {
            query.append_pair("baseline", b);
        }
        if let Some(n) = self.last {
            query.append_pair("last", &n.to_string());
        }
        for (name, value) in [("since", &self.since), ("until", &self.until)] {
            if let Some(v) = value {
                chrono::DateTime::parse_from_rfc3339(v)
                    .with_context(|| format!("--{name} {v}: not an RFC 3339 time"))?;
                query.append_pair(name, v);
            }
        }
        let query = query.finish();
        Ok(if query.is_empty() {
            query
        } else {
            format!("?{query}")
        })
    }
}

/// An impact report for people: its one-line summary, then the report as JSON.
pub fn print_impact(report: &Value) -> anyhow::Result<()> {
    println!("{}", report["summary"].as_str().unwrap_or("impact: ?"));
    println!("{}", serde_json::to_string_pretty(report)?);
    Ok(())
}

/// A change id as the path needs it (a UUID), checked before any request.
fn change_id(id: &str) -> anyhow::Result<String> {
    uuid::Uuid::parse_str(id)
        .map(|u| u.to_string())
        .with_context(|| format!("not a registry change id: {id:?}"))
}

/// Reads a proposal: a file or standard input, an object or a bare list of operations, with
/// `note` replacing the file's. Checked against the operations' format before it is sent.
fn read_proposal(file: &PathBuf, note: Option<String>) -> anyhow::Result<Value> {
    let (name, text) = if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading the change from standard input")?;
        ("standard input".to_string(), text)
    } else {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        (file.display().to_string(), text)
    };
    let parsed: Value = serde_json::from_str(&text).with_context(|| format!("{name}: not JSON"))?;
    let mut body = match parsed {
        Value::Array(changes) => serde_json::json!({ "changes": changes }),
        Value::Object(_) => parsed,
        _ => bail!("{name}: expected {{\"changes\": [...]}} or a list of operations"),
    };
    if let Some(note) = note {
        body["note"] = Value::String(note);
    }
    serde_json::from_value::<ChangeRequest>(body.clone()).with_context(|| {
        format!("{name}: not a registry change (operations: upsert_partner, add_key, revoke_key, set_certificate_constraints)")
    })?;
    Ok(body)
}

/// One change request for people: its id, status and history, then one line per operation.
fn print_change(record: &Value) {
    let s = |k: &str| record[k].as_str().unwrap_or("-");
    let mut line = format!(
        "{}  {:<8}  proposed by {} at {}",
        s("id"),
        s("status"),
        s("proposed_by"),
        s("proposed_at")
    );
    if record["decided_by"].is_string() {
        line.push_str(&format!(
            "; {} by {} at {}",
            match s("status") {
                "applied" => "approved",
                "rejected" => "rejected",
                _ => "decided",
            },
            s("decided_by"),
            s("decided_at")
        ));
    }
    if let Some(reason) = record["reason"].as_str() {
        line.push_str(&format!(" ({reason})"));
    }
    println!("{line}");
    if let Some(note) = record["note"].as_str() {
        println!("    note: {note}");
    }
    let changes: Vec<RegistryChange> =
        serde_json::from_value(record["changes"].clone()).unwrap_or_default();
    for change in &changes {
        println!("    - {}", describe(change));
    }
}

pub async fn run(command: AdminCommand) -> anyhow::Result<()> {
    let AdminCommand::Registry { command } = command;
    match command {
        RegistryCommand::Propose {
            file,
            note,
            no_impact,
            json,
            admin,
        } => {
            let body = read_proposal(&file, note)?;
            let client = admin.client()?;
            let record = client
                .send(
                    http::Method::POST,
                    "/v1/admin/registry/changes",
                    Some(("application/json", serde_json::to_vec(&body)?)),
                )
                .await?;
            let id = record["id"].as_str().unwrap_or("?").to_string();
            let impact = if no_impact {
                None
            } else {
                let path = format!("/v1/admin/registry/changes/{}/impact", change_id(&id)?);
                Some(client.send(http::Method::GET, &path, None).await?)
            };
            if json {
                let out = serde_json::json!({ "change": record, "impact": impact });
                println!("{}", serde_json::to_string_pretty(&out)?);
                return Ok(());
            }
            println!("proposed registry change {id}");
            print_change(&record);
            if let Some(report) = impact {
                println!("{}", report["summary"].as_str().unwrap_or("impact: ?"));
                for note in report["notes"]
                    .as_array()
                    .map(Vec::as_slice)
                    .unwrap_or_default()
                {
                    println!("    note: {}", note.as_str().unwrap_or(""));
                }
                println!("(details: vhgate admin registry impact {id})");
            }
            println!("A second administrator approves with: vhgate admin registry approve {id}");
            Ok(())
        }
        RegistryCommand::List {
            pending,
            json,
            admin,
        } => {
            let list = admin
                .client()?
                .send(http::Method::GET, "/v1/admin/registry/changes", None)
                .await?;
            let records: Vec<&Value> = list
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter(|r| !pending || r["status"] == "proposed")
                .collect();
            if json {
                println!("{}", serde_json::to_string_pretty(&records)?);
                return Ok(());
            }
            if records.is_empty() {
                println!(
                    "no registry changes{}",
                    if pending { " pending" } else { "" }
                );
            }
            for record in records {
                print_change(record);
            }
            Ok(())
        }
        RegistryCommand::Approve { id, admin } => {
            let path = format!("/v1/admin/registry/changes/{}/approve", change_id(&id)?);
            let record = admin
                .client()?
                .send(http::Method::POST, &path, None)
                .await?;
            println!("applied registry change {id}");
            print_change(&record);
            Ok(())
        }
        RegistryCommand::Reject { id, reason, admin } => {
            let path = format!("/v1/admin/registry/changes/{}/reject", change_id(&id)?);
            let body = serde_json::to_vec(&serde_json::json!({ "reason": reason }))?;
            let record = admin
                .client()?
                .send(http::Method::POST, &path, Some(("application/json", body)))
                .await?;
            println!("rejected registry change {id}");
            print_change(&record);
            Ok(())
        }
        RegistryCommand::Impact { id, window, admin } => {
            let path = format!(
                "/v1/admin/registry/changes/{}/impact{}",
                change_id(&id)?,
                window.query()?
            );
            let report = admin.client()?.send(http::Method::GET, &path, None).await?;
            print_impact(&report)
        }
    }
}
