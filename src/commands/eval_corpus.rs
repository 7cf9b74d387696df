//! `gatewatch eval --corpus DIR`: the rules on labelled public material nobody on the project
//! wrote (`eval/corpus/`), reported apart from the generated traffic.
//!
//! `DIR/corpus.toml` says what to measure:
//! - `[[user_agents]]`: a list of real user agents (`.txt`, one per line, or `.tsv` with a
//!   `user_agent` column) and the share of them `ua_class` must put in `classes`: at least
//!   `min` (AI vendors' agents classified as AI) or at most `max` (browsers flagged as AI or bot).
//! - `[[logs]]`: a `labels.jsonl` of `{file, client_ip, attack, kind}`; every file it names is
//!   replayed through the rules (format sniffed per line). An attacking client is found when an
//!   alert names it (as entity, or among its fields); a benign client must get no alert. Lines
//!   no window saw (late by event time, or malformed) are counted under the file's row, so a
//!   miss on them is not read as a rule's. `allowed_lateness` sets the set's lateness,
//!   `max_time_jump` how far ahead a line may be dated without later lines confirming it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use gatewatch_engine::Alert;
use gatewatch_ingest::Input;
use gatewatch_rules::functions::{ua_class, UaClass};
use gatewatch_rules::CompiledRule;
use gatewatch_sinks::Sink;
use serde::Deserialize;

use super::eval::Memory;
use gatewatch_pipeline::{self as pipeline, PipelineConfig};

/// `corpus.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    user_agents: Vec<UaList>,
    #[serde(default)]
    logs: Vec<LogSet>,
}

/// One list of real user agents and the share expected in some classes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UaList {
    /// Shown in the report.
    name: String,
    /// Relative to the corpus directory.
    file: PathBuf,
    /// `ua_class` names counted.
    classes: Vec<String>,
    /// The counted share must be at least this.
    min: Option<f64>,
    /// The counted share must be at most this.
    max: Option<f64>,
}

/// Labelled access logs.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct LogSet {
    /// Relative to the corpus directory; the files it names are relative to it.
    labels: PathBuf,
    /// How late an event may arrive and still count (`run --allowed-lateness`; default as
    /// `run`'s). For collections of unrelated lines (a project's test log gathered from
    /// several servers and years) rather than one time-ordered stream: say so in SOURCE.md.
    allowed_lateness: Option<String>,
    /// How far ahead of the stream an event may jump and be processed without later records
    /// confirming it (`run --max-time-jump`; default as `run`'s). For the same collections: a
    /// test case dated months after its neighbours would otherwise be dead-lettered as a time
    /// jump, as a forged timestamp is in a live stream.
    max_time_jump: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Label {
    file: String,
    client_ip: String,
    attack: bool,
    kind: String,
}

/// One measured figure against its target.
struct Line {
    name: String,
    count: usize,
    hits: usize,
    share: f64,
    target: String,
    ok: bool,
    examples: Vec<String>,
}

/// The share of a list's user agents in the counted classes.
fn measure_list(dir: &Path, list: &UaList) -> Result<Line> {
    let path = dir.join(&list.file);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let uas: Vec<String> = if path.extension().is_some_and(|e| e == "tsv") {
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
        let col = header
            .iter()
            .position(|h| *h == "user_agent")
            .with_context(|| format!("{}: no `user_agent` column", path.display()))?;
        lines
            .filter_map(|l| l.split('\t').nth(col).map(String::from))
            .collect()
    } else {
        text.lines().map(String::from).collect()
    };
    let uas: Vec<String> = uas.into_iter().filter(|u| !u.trim().is_empty()).collect();
    let counted = |c: UaClass| list.classes.iter().any(|n| n == c.as_str());
    let hits: Vec<&String> = uas.iter().filter(|u| counted(ua_class(u))).collect();
    let share = if uas.is_empty() {
        0.0
    } else {
        hits.len() as f64 / uas.len() as f64
    };
    let (ok, target, examples) = match (list.min, list.max) {
        (Some(min), _) => (
            share >= min,
            format!(">= {min}"),
            uas.iter()
                .filter(|u| !counted(ua_class(u)))
                .take(5)
                .map(|u| format!("{} ({})", cut(u), ua_class(u).as_str()))
                .collect(),
        ),
        (None, Some(max)) => (
            share <= max,
            format!("<= {max}"),
            hits.iter()
                .take(5)
                .map(|u| format!("{} ({})", cut(u), ua_class(u).as_str()))
                .collect(),
        ),
        (None, None) => (true, "-".into(), Vec::new()),
    };
    Ok(Line {
        name: format!("{} [{}]", list.name, list.classes.join("|")),
        count: uas.len(),
        hits: hits.len(),
        share,
        target,
        ok,
        examples,
    })
}

fn cut(s: &str) -> String {
    s.chars().take(90).collect()
}

/// An alert as `eval` asks whether it names a client: the alert, and its fields as JSON text
/// (written once per alert, not once per labelled client).
struct Named<'a> {
    alert: &'a Alert,
    fields: String,
}

impl<'a> Named<'a> {
    fn new(alert: &'a Alert) -> Self {
        let fields = serde_json::to_string(&alert.fields).unwrap_or_default();
        Named { alert, fields }
    }

    /// Whether the alert names `ip`: as its entity, or as a whole value inside its fields.
    fn names(&self, ip: &str) -> bool {
        self.alert.entity == ip || names_in(&self.fields, ip)
    }
}

/// Whether the JSON text `fields` holds `ip` as a value of its own: a whole string, or an item
/// of a list separated by spaces, commas or semicolons (`admin-login-distributed`'s
/// `addresses`); not inside other text (a scanner's banner that writes the server's address,
/// `MGLNDD_203.0.113.9_80`, quoted as an example request, does not name the server).
fn names_in(fields: &str, ip: &str) -> bool {
    fields.match_indices(ip).any(|(i, m)| {
        let before = fields[..i].chars().next_back();
        let after = fields[i + m.len()..].chars().next();
        let edge = |c: Option<char>| matches!(c, None | Some('"' | ' ' | ',' | ';'));
        edge(before) && edge(after)
    })
}

/// What a replay gave: the alerts, and the lines no window saw.
struct Replayed {
    alerts: Vec<Alert>,
    /// Events behind the watermark (counted, not windowed).
    late: u64,
    /// Lines no decoder could read (dead-lettered).
    malformed: u64,
    /// Events dated far ahead of the others that no later event confirmed (dead-lettered as
    /// time jumps).
    time_jumps: u64,
}

/// Replays one log file through the rules, with `config`'s clock.
fn replay(path: &Path, rules: Vec<CompiledRule>, config: &PipelineConfig) -> Result<Replayed> {
    let memory = Memory::default();
    let mut sinks: Vec<Box<dyn Sink>> = vec![Box::new(memory.clone())];
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let input = Input {
        reader: Box::new(std::io::BufReader::new(file)),
        name: path.display().to_string(),
        interactive: false,
    };
    let summary = pipeline::run_lines(input, rules, &mut sinks, config, None)
        .with_context(|| format!("replaying {}", path.display()))?;
    Ok(Replayed {
        alerts: memory.alerts(),
        late: summary.engine.late_by_source.values().sum(),
        malformed: summary.malformed,
        time_jumps: summary.engine.time_rejected,
    })
}

/// Runs the corpus evaluation and prints the report, listing up to `listed` missed attacking
/// clients per log and every benign client alerted; `Ok(false)` when a target is missed.
pub fn run(
    dir: &Path,
    load: &dyn Fn() -> Result<Vec<CompiledRule>>,
    listed: usize,
) -> Result<bool> {
    let manifest_path = dir.join("corpus.toml");
    let text = std::fs::read_to_string(&manifest_path).with_context(|| {
        format!(
            "cannot read {} (the corpus manifest: [[user_agents]] and [[logs]] tables)",
            manifest_path.display()
        )
    })?;
    let manifest: Manifest =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", manifest_path.display()))?;
    let mut all_ok = true;

    println!(
        "gatewatch eval --corpus {}: held-out public material",
        dir.display()
    );
    println!("\nuser-agent classes (ua_class)");
    println!(
        "{:<58} {:>7} {:>7} {:>7} {:>8}  ok",
        "list [classes counted]", "agents", "counted", "share", "target"
    );
    for list in &manifest.user_agents {
        let l = measure_list(dir, list)?;
        all_ok &= l.ok;
        println!(
            "{:<58} {:>7} {:>7} {:>7.4} {:>8}  {}",
            l.name,
            l.count,
            l.hits,
            l.share,
            l.target,
            if l.ok { "yes" } else { "NO" }
        );
        for e in &l.examples {
            println!("    e.g. {e}");
        }
    }

    println!("\naccess logs (an attacking client is found when an alert names it; benign clients must get none)");
    println!(
        "{:<46} {:>8} {:>8} {:>7}  alerts",
        "log", "attackers", "found", "benign-hit"
    );
    for set in &manifest.logs {
        let labels_path = dir.join(&set.labels);
        let base = labels_path.parent().unwrap_or(dir).to_path_buf();
        let text = std::fs::read_to_string(&labels_path)
            .with_context(|| format!("cannot read {}", labels_path.display()))?;
        let mut by_file: BTreeMap<String, Vec<Label>> = BTreeMap::new();
        for (n, line) in text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
        {
            let label: Label = serde_json::from_str(line)
                .with_context(|| format!("{}:{}", labels_path.display(), n + 1))?;
            by_file.entry(label.file.clone()).or_default().push(label);
        }
        let mut config = PipelineConfig::default();
        if let Some(lateness) = &set.allowed_lateness {
            let ms = crate::config::duration_ms(lateness)
                .with_context(|| format!("{}: allowed_lateness", manifest_path.display()))?;
            config.engine = config.engine.with_lateness_ms(ms);
        }
        if let Some(jump) = &set.max_time_jump {
            config.engine.clock.max_jump_ms = crate::config::duration_ms(jump)
                .with_context(|| format!("{}: max_time_jump", manifest_path.display()))?;
        }
        let (mut all_attackers, mut all_found, mut all_benign, mut all_benign_hit) = (0, 0, 0, 0);
        for (file, labels) in &by_file {
            let replayed = replay(&base.join(file), load()?, &config)?;
            let alerts: Vec<Named> = replayed.alerts.iter().map(Named::new).collect();
            let attackers: Vec<&Label> = labels.iter().filter(|l| l.attack).collect();
            let missed: Vec<&Label> = (attackers.iter().copied())
                .filter(|l| !alerts.iter().any(|a| a.names(&l.client_ip)))
                .collect();
            let found = attackers.len() - missed.len();
            // (client, rule, kind) of every alert naming a benign client: one pass.
            let hits: BTreeSet<(&str, &str, &str)> = labels
                .iter()
                .filter(|l| !l.attack)
                .flat_map(|l| {
                    alerts
                        .iter()
                        .filter(|a| a.names(&l.client_ip))
                        .map(move |a| {
                            let rule = a.alert.rule_id.as_str();
                            (l.client_ip.as_str(), rule, l.kind.as_str())
                        })
                })
                .collect();
            let benign_hits: BTreeSet<String> = hits
                .iter()
                .map(|(ip, rule, kind)| format!("{rule} on {ip} ({kind})"))
                .collect();
            let benign: BTreeSet<&str> = labels
                .iter()
                .filter(|l| !l.attack)
                .map(|l| l.client_ip.as_str())
                .collect();
            all_attackers += attackers.len();
            all_found += found;
            all_benign += benign.len();
            all_benign_hit += hits.iter().map(|h| h.0).collect::<BTreeSet<_>>().len();
            let recall_ok = attackers.is_empty() || found as f64 / attackers.len() as f64 >= 0.95;
            all_ok &= recall_ok && benign_hits.is_empty();
            let rules: BTreeSet<&str> = alerts.iter().map(|a| a.alert.rule_id.as_str()).collect();
            println!(
                "{:<46} {:>8} {:>8} {:>7}  {}",
                cut(file),
                attackers.len(),
                found,
                benign_hits.len(),
                rules.into_iter().collect::<Vec<_>>().join(", ")
            );
            // Every one: the target is none, and a sixth hidden behind five would go unread.
            for h in &benign_hits {
                println!("    false positive: {h}");
            }
            // Lines no rule saw: a miss on them says nothing about the rules.
            if replayed.late + replayed.malformed + replayed.time_jumps > 0 {
                let jumps = match replayed.time_jumps {
                    0 => String::new(),
                    n => format!(", {n} dated far ahead and never confirmed (see max_time_jump)"),
                };
                println!(
                    "    not windowed: {} late (behind the watermark; see allowed_lateness), {} malformed{jumps}",
                    replayed.late, replayed.malformed
                );
            }
            // Which attacking clients no alert named, and what their label says they did.
            for l in missed.iter().take(listed) {
                println!("    missed: {} ({})", l.client_ip, cut(&l.kind));
            }
            if missed.len() > listed {
                println!("    missed: {} more", missed.len() - listed);
            }
        }
        if by_file.len() > 1 {
            println!(
                "{:<46} {:>8} {:>8} {:>7}  ({} of {} benign clients alerted)",
                format!("all of {}", set.labels.display()),
                all_attackers,
                all_found,
                all_benign_hit,
                all_benign_hit,
                all_benign
            );
        }
    }
    Ok(all_ok)
}

/// `Ok(ExitCode)` for `--check`.
pub fn exit_code(ok: bool, check: bool) -> ExitCode {
    if check && !ok {
        eprintln!("gatewatch eval --corpus: targets missed (see the rows marked NO or with false positives)");
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::names_in;

    #[test]
    fn an_address_is_named_as_a_value_of_its_own_not_inside_other_text() {
        let fields = r#"{"addresses":"192.0.2.1 192.0.2.10","other":"192.0.2.11;192.0.2.12","host":"192.0.2.7:80","example_request":"MGLNDD_192.0.2.9_80","client":"192.0.2.5"}"#;
        for ip in [
            "192.0.2.1",
            "192.0.2.10",
            "192.0.2.5",
            "192.0.2.11",
            "192.0.2.12",
        ] {
            assert!(names_in(fields, ip), "{ip}");
        }
        for ip in ["192.0.2.7", "192.0.2.9", "192.0.2.100", "92.0.2.1"] {
            assert!(!names_in(fields, ip), "{ip}");
        }
    }
}
