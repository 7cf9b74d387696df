//! The maintained lists `ua_class()` reads, embedded in the binary (sources and licences in
//! `rules/data/SOURCE.md`): ai.robots.txt (AI crawler and agent tokens with what each does),
//! arcjet's well-known-bots (categories, patterns, verification sources) and
//! crawler-user-agents (patterns). Parsed once per process.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::{Regex, RegexSet};

use super::UaClass;

const AI_ROBOTS_JSON: &str = include_str!("../../../data/ai-robots.json");
const WELL_KNOWN_BOTS_JSON: &str = include_str!("../../../data/well-known-bots.json");
const CRAWLER_PATTERNS: &str = include_str!("../../../data/crawler-patterns.txt");

/// One ai.robots.txt token and whether it acts for a user or crawls.
pub(super) struct AiToken {
    /// The token, lower-cased.
    pub name: String,
    /// [`UaClass::AiAgent`] or [`UaClass::AiCrawler`].
    pub class: UaClass,
}

/// A well-known-bots entry whose IP ranges are published (a claim that can be checked).
pub struct VerifiableCrawler {
    /// The list's id (`google-crawler`, `openai-crawler`, ...): the file name under
    /// `--crawler-ranges`.
    pub id: String,
    /// Where the operator publishes the ranges (for the README and `fetch-crawler-ranges.sh`).
    pub sources: Vec<String>,
}

/// Everything parsed from the lists.
pub(super) struct Lists {
    /// ai.robots.txt tokens.
    pub ai_tokens: Vec<AiToken>,
    /// `ai_tokens`' names in one case-insensitive automaton, pattern index = token index.
    pub ai_matcher: aho_corasick::AhoCorasick,
    /// well-known-bots patterns of the `ai` category (not tools).
    pub ai_patterns: Option<Regex>,
    /// well-known-bots patterns of the `tool` and `programmatic` categories.
    pub tool_patterns: Option<Regex>,
    /// Every other well-known-bots pattern and every crawler-user-agents pattern.
    pub bot_patterns: Option<Regex>,
    /// Registrable domains of AI vendors (from ai.robots.txt operators and the `ai` entries of
    /// well-known-bots), minus domains that non-AI crawlers also use (google.com, apple.com ...).
    pub ai_domains: BTreeSet<String>,
    /// Crawlers whose ranges are published, with one pattern each in `verifiable_patterns`.
    pub verifiable: Vec<VerifiableCrawler>,
    /// Patterns of `verifiable`, index for index.
    pub verifiable_patterns: RegexSet,
}

/// The lists, parsed on first use.
pub(super) fn lists() -> &'static Lists {
    static L: OnceLock<Lists> = OnceLock::new();
    L.get_or_init(parse)
}

/// The crawlers whose IP ranges are published (`gatewatch rules crawlers` prints them).
pub fn verifiable_crawlers() -> &'static [VerifiableCrawler] {
    &lists().verifiable
}

/// Whether an ai.robots.txt entry describes an agent acting for a user rather than a crawler.
fn acts_for_user(name: &str, function: &str) -> bool {
    let f = function.to_ascii_lowercase();
    let n = name.to_ascii_lowercase();
    [
        "assistant",
        "agent",
        "user-initiated",
        "user prompts",
        "takes action",
        "on behalf",
    ]
    .iter()
    .any(|w| f.contains(w))
        || n.ends_with("-user")
        || n.contains("agent")
}

/// The registrable part of a host name (`www.perplexity.ai` -> `perplexity.ai`,
/// `ds.rois.ac.jp` -> `rois.ac.jp`).
pub(super) fn registrable(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let parts: Vec<&str> = host.split('.').collect();
    let keep = match parts.len() {
        0..=2 => parts.len(),
        n if matches!(parts[n - 2], "co" | "com" | "ac" | "org" | "net" | "gov") => 3,
        _ => 2,
    };
    parts[parts.len() - keep..].join(".")
}

/// Host names in URLs of free text (`[OpenAI](https://openai.com)`).
fn url_hosts(text: &str) -> impl Iterator<Item = String> + '_ {
    text.match_indices("://").filter_map(move |(i, _)| {
        let host: String = text[i + 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-')
            .collect();
        host.contains('.')
            .then(|| registrable(host.trim_start_matches("www.")))
    })
}

/// One alternation of patterns, as text; patterns Rust's regex dialect rejects are skipped (a
/// bad pattern loses one bot, not the class). Each is checked by the parser alone: compiling
/// a thousand patterns one by one only to throw them away took most of the lists' start-up.
fn alternation_text(patterns: &[String]) -> Option<String> {
    let ok: Vec<&str> = patterns
        .iter()
        .map(String::as_str)
        .filter(|p| !p.is_empty() && regex_syntax::Parser::new().parse(p).is_ok())
        .collect();
    (!ok.is_empty()).then(|| ok.join("|"))
}

/// [`alternation_text`], compiled.
fn alternation(patterns: &[String]) -> Option<Regex> {
    Regex::new(&alternation_text(patterns)?).ok()
}

fn parse() -> Lists {
    let robots: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(AI_ROBOTS_JSON).unwrap_or_default();
    let mut ai_domains = BTreeSet::new();
    let ai_tokens: Vec<AiToken> = robots
        .iter()
        .map(|(name, v)| {
            let function = v.get("function").and_then(|f| f.as_str()).unwrap_or("");
            let operator = v.get("operator").and_then(|f| f.as_str()).unwrap_or("");
            ai_domains.extend(url_hosts(operator));
            AiToken {
                name: name.to_ascii_lowercase(),
                class: if acts_for_user(name, function) {
                    UaClass::AiAgent
                } else {
                    UaClass::AiCrawler
                },
            }
        })
        .collect();

    let bots: Vec<serde_json::Value> =
        serde_json::from_str(WELL_KNOWN_BOTS_JSON).unwrap_or_default();
    let (mut ai, mut tool, mut other) = (Vec::new(), Vec::new(), Vec::new());
    let mut other_domains = BTreeSet::new();
    let mut verifiable = Vec::new();
    let mut verifiable_patterns = Vec::new();
    for bot in &bots {
        let cats: Vec<&str> = bot["categories"]
            .as_array()
            .map(|a| a.iter().filter_map(|c| c.as_str()).collect())
            .unwrap_or_default();
        let patterns: Vec<String> = bot["pattern"]["accepted"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        let url = bot["url"].as_str().unwrap_or("");
        let is_tool = cats.iter().any(|c| matches!(*c, "tool" | "programmatic"));
        if is_tool {
            tool.extend(patterns.iter().cloned());
        } else if cats.contains(&"ai") {
            ai.extend(patterns.iter().cloned());
            ai_domains.extend(url_hosts(url));
        } else {
            other.extend(patterns.iter().cloned());
        }
        if !cats.contains(&"ai") {
            other_domains.extend(url_hosts(url));
        }
        let sources: Vec<String> = bot["verification"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| matches!(v["type"].as_str(), Some("cidr" | "ip")))
            .flat_map(|v| v["sources"].as_array().into_iter().flatten())
            .filter_map(|s| s["url"].as_str().map(String::from))
            .collect();
        let id = bot["id"].as_str().unwrap_or("");
        if !sources.is_empty() && !id.is_empty() {
            if let Some(p) = alternation_text(&patterns) {
                verifiable_patterns.push(p);
                verifiable.push(VerifiableCrawler {
                    id: id.to_owned(),
                    sources,
                });
            }
        }
    }
    other.extend(CRAWLER_PATTERNS.lines().map(String::from));
    for d in &other_domains {
        ai_domains.remove(d);
    }
    // Code hosting says nothing about the vendor.
    for d in ["github.com", "github.io", "gitlab.com"] {
        ai_domains.remove(d);
    }
    let names: Vec<String> = ai_tokens.iter().map(|t: &AiToken| t.name.clone()).collect();
    Lists {
        ai_matcher: super::super::case_insensitive_matcher(&names),
        ai_tokens,
        ai_patterns: alternation(&ai),
        tool_patterns: alternation(&tool),
        bot_patterns: alternation(&other),
        ai_domains,
        verifiable,
        verifiable_patterns: RegexSet::new(&verifiable_patterns)
            .unwrap_or_else(|_| RegexSet::empty()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lists_parse_and_keep_search_engines_out_of_the_ai_domains() {
        let l = lists();
        assert!(l.ai_tokens.len() > 100, "{}", l.ai_tokens.len());
        assert!(l.ai_patterns.is_some() && l.tool_patterns.is_some() && l.bot_patterns.is_some());
        for d in ["openai.com", "anthropic.com", "perplexity.ai"] {
            assert!(l.ai_domains.contains(d), "{d}");
        }
        for d in ["google.com", "apple.com", "bing.com", "github.com"] {
            assert!(!l.ai_domains.contains(d), "{d}");
        }
        let ids: Vec<&str> = l.verifiable.iter().map(|c| c.id.as_str()).collect();
        assert!(
            ids.contains(&"google-crawler") && ids.contains(&"openai-crawler"),
            "{ids:?}"
        );
        assert_eq!(l.verifiable.len(), l.verifiable_patterns.len());
    }

    #[test]
    fn registrable_domains() {
        assert_eq!(registrable("www.perplexity.ai"), "perplexity.ai");
        assert_eq!(registrable("ds.rois.ac.jp"), "rois.ac.jp");
        assert_eq!(registrable("crawl.openai.com"), "openai.com");
    }
}
