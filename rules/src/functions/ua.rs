//! User-agent classes: AI agent (the ai.robots.txt list), known bot (crawler-user-agents
//! patterns and generic bot words), tool (HTTP libraries and attack tools), browser.

use std::sync::OnceLock;

use regex::Regex;

/// What kind of client a user agent declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UaClass {
    /// An AI crawler or agent from the ai.robots.txt list (GPTBot, ClaudeBot, ChatGPT-User ...).
    AiAgent,
    /// A known crawler or monitoring bot (Googlebot, bingbot, UptimeRobot ...).
    Bot,
    /// An HTTP library, CLI or attack tool (curl, python-requests, sqlmap ...).
    Tool,
    /// A web browser or mobile app webview.
    Browser,
    /// Anything else.
    Unknown,
    /// No user agent.
    Empty,
}

impl UaClass {
    /// The class name returned by `ua_class()` in SQL and Rhai.
    pub fn as_str(self) -> &'static str {
        match self {
            UaClass::AiAgent => "ai_agent",
            UaClass::Bot => "bot",
            UaClass::Tool => "tool",
            UaClass::Browser => "browser",
            UaClass::Unknown => "unknown",
            UaClass::Empty => "empty",
        }
    }
}

const AI_ROBOTS_JSON: &str = include_str!("../../data/ai-robots.json");
const CRAWLER_PATTERNS: &str = include_str!("../../data/crawler-patterns.txt");

/// HTTP client libraries and command-line clients; matched case-insensitively as substrings.
const HTTP_CLIENTS: &[&str] = &[
    "curl/",
    "wget/",
    "python-requests",
    "python-urllib",
    "python-httpx",
    "aiohttp",
    "go-http-client",
    "okhttp",
    "java/",
    "apache-httpclient",
    "libwww-perl",
    "httpie",
    "postmanruntime",
    "insomnia",
    "axios/",
    "node-fetch",
    "undici",
    "powershell",
    "scrapy",
    "httpclient",
];

/// Scanners and attack tools that announce themselves in their user agent; matched
/// case-insensitively. Also `probe_class`'s `scanner-agent`.
pub(crate) const ATTACK_TOOLS: &[&str] = &[
    "sqlmap",
    "nikto",
    "nmap",
    "masscan",
    "zgrab",
    "nuclei",
    "gobuster",
    "dirbuster",
    "feroxbuster",
    "ffuf",
    "wfuzz",
    "hydra",
    "acunetix",
    "netsparker",
    "wpscan",
    "openvas",
    "nessus",
    "qualys",
    "burp",
    "owasp zap",
    "jaeles",
    "whatweb",
    "commix",
    "arachni",
    "w3af",
];

struct Matchers {
    ai: aho_corasick::AhoCorasick,
    bots: Regex,
    tools: aho_corasick::AhoCorasick,
}

fn matchers() -> &'static Matchers {
    static M: OnceLock<Matchers> = OnceLock::new();
    M.get_or_init(|| {
        let robots: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(AI_ROBOTS_JSON).unwrap_or_default();
        let ai_tokens: Vec<String> = robots.keys().map(|k| k.to_ascii_lowercase()).collect();
        let build = super::case_insensitive_matcher;
        let tools: Vec<String> = HTTP_CLIENTS
            .iter()
            .chain(ATTACK_TOOLS)
            .map(|s| s.to_string())
            .collect();
        // One alternation of every crawler pattern plus generic bot words; patterns that do not
        // compile in Rust's regex dialect are skipped rather than failing the whole class.
        let mut parts: Vec<&str> = CRAWLER_PATTERNS
            .lines()
            .filter(|p| !p.is_empty() && Regex::new(p).is_ok())
            .collect();
        parts.extend(["bot\\b", "crawler", "spider", "slurp", "monitor"]);
        let bots = Regex::new(&format!("(?i){}", parts.join("|")))
            .unwrap_or_else(|_| Regex::new("(?i)bot|crawler|spider").expect("static regex"));
        Matchers {
            ai: build(&ai_tokens),
            bots,
            tools: build(&tools),
        }
    })
}

/// Whether an ai.robots.txt token occurs as a whole product name: not inside a longer word and
/// not as the prefix of a hyphenated name, so `OpenAI/1.0` is an agent but the SDK
/// `openai-python/1.54` (a client of your AI gateway) is not.
fn is_ai_agent(ai: &aho_corasick::AhoCorasick, ua: &str) -> bool {
    let bytes = ua.as_bytes();
    ai.find_overlapping_iter(ua).any(|m| {
        let before = m.start().checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(m.end()).copied();
        !before.is_some_and(|b| b.is_ascii_alphanumeric())
            && !after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// A map keyed by text with a fast fixed hash (these caches are per thread, never persisted).
pub(crate) type FastMap<V> =
    std::collections::HashMap<String, V, datafusion::common::hash_utils::RandomState>;

/// Classifies a user agent.
///
/// ```
/// use gatewatch_rules::functions::{ua_class, UaClass};
/// assert_eq!(ua_class("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2)"), UaClass::AiAgent);
/// assert_eq!(ua_class("python-requests/2.31.0"), UaClass::Tool);
/// assert_eq!(ua_class("Mozilla/5.0 (compatible; ChatGPT-User/1.0; +https://openai.com/bot)"), UaClass::AiAgent);
/// assert_ne!(ua_class("openai-python/1.54.0"), UaClass::AiAgent);
/// assert_eq!(ua_class("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"), UaClass::Bot);
/// assert_eq!(ua_class("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"), UaClass::Browser);
/// ```
pub fn ua_class(ua: &str) -> UaClass {
    // User agents repeat endlessly while classifying one runs a 600-pattern regex: remember
    // the answers per thread (bounded; cleared when full, so a flood of random agents only
    // costs what it would without the cache).
    thread_local! {
        static SEEN: std::cell::RefCell<FastMap<UaClass>> =
            std::cell::RefCell::new(FastMap::with_hasher(Default::default()));
    }
    const CACHE_ENTRIES: usize = 8192;
    if let Some(c) = SEEN.with(|m| m.borrow().get(ua).copied()) {
        return c;
    }
    let class = classify(ua);
    SEEN.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= CACHE_ENTRIES {
            m.clear();
        }
        m.insert(ua.to_owned(), class);
    });
    class
}

fn classify(ua: &str) -> UaClass {
    let ua = ua.trim();
    if ua.is_empty() || ua == "-" {
        return UaClass::Empty;
    }
    let m = matchers();
    if is_ai_agent(&m.ai, ua) {
        UaClass::AiAgent
    } else if m.tools.is_match(ua) {
        UaClass::Tool
    } else if m.bots.is_match(ua) {
        UaClass::Bot
    } else if ua.starts_with("Mozilla/")
        || ua.contains("AppleWebKit")
        || ua.contains("Dalvik")
        || ua.contains("CFNetwork")
    {
        UaClass::Browser
    } else {
        UaClass::Unknown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes() {
        assert_eq!(ua_class("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT-User/1.0; +https://openai.com/bot)"), UaClass::AiAgent);
        assert_eq!(ua_class("ClaudeBot/1.0"), UaClass::AiAgent);
        assert_eq!(ua_class("curl/8.5.0"), UaClass::Tool);
        assert_eq!(
            ua_class("sqlmap/1.7.2#stable (https://sqlmap.org)"),
            UaClass::Tool
        );
        assert_eq!(
            ua_class("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
            UaClass::Bot
        );
        assert_eq!(ua_class("kube-probe/1.29"), UaClass::Unknown);
        assert_eq!(
            ua_class("ShopApp/4.12.0 (iPhone; iOS 18.1; Scale/3.00)"),
            UaClass::Unknown
        );
        assert_eq!(ua_class(""), UaClass::Empty);
    }
}
