//! User-agent classes from several maintained lists at once (ai.robots.txt, arcjet's
//! well-known-bots, crawler-user-agents: [`lists`]) plus generic signals of declared bots and AI
//! clients ([`signals`]), so a new AI vendor's crawler is classified the week it appears, not
//! when a list learns its name. Measured on real material in `eval/corpus` by
//! `gatewatch eval --corpus eval/corpus`.

mod lists;
mod signals;
pub mod verify;

use std::sync::OnceLock;

pub use lists::{verifiable_crawlers, VerifiableCrawler};

/// What kind of client a user agent declares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UaClass {
    /// A declared AI crawler: training, indexing or search for an AI product (GPTBot,
    /// ClaudeBot, PerplexityBot, CCBot, Bytespider, a new vendor's `FooAIBot/1.0; +https://foo.ai`).
    AiCrawler,
    /// An AI assistant or agent fetching for a user right now (ChatGPT-User, Claude-User,
    /// Perplexity-User, coding agents and AI CLIs).
    AiAgent,
    /// Another declared bot: search engines, monitors, previews, feed readers (Googlebot,
    /// bingbot, UptimeRobot ...).
    Bot,
    /// An HTTP library, CLI, headless browser or attack tool (curl, python-requests, sqlmap ...).
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
            UaClass::AiCrawler => "ai_crawler",
            UaClass::AiAgent => "ai_agent",
            UaClass::Bot => "bot",
            UaClass::Tool => "tool",
            UaClass::Browser => "browser",
            UaClass::Unknown => "unknown",
            UaClass::Empty => "empty",
        }
    }

    /// Whether this is one of the two AI classes.
    pub fn is_ai(self) -> bool {
        matches!(self, UaClass::AiCrawler | UaClass::AiAgent)
    }
}

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
    "guzzlehttp/",
    "restsharp/",
    "fasthttp",
    "faraday v",
    "(dart:io)",
    "reqwest/",
    "java-http-client/",
    "winhttp",
    "lua-resty-http",
    "rest-client/",
    "typhoeus",
    "httparty",
    "libcurl",
    "go-resty",
    "superagent",
    "cpp-httplib",
    "xml-rpc.net",
    // Delphi's Indy components: `Mozilla/3.0 (compatible; Indy Library)`.
    "indy library",
];

/// Libraries whose default user agent is one bare word, matched as the whole agent: Ruby's
/// `Net::HTTP` sends `Ruby`, a word too common to look for inside other agents. Also the
/// generic words of crawling alone (`Spider`, heldout119's Exchange hunter): a crawler that
/// declares itself names itself (`Googlebot`, `Bytespider`); a word that names nobody is a
/// tool's made-up agent.
const BARE_CLIENTS: &[&str] = &[
    "ruby", "spider", "crawler", "bot", "robot", "scanner", "scraper",
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
    // Censys' scanner (built on zgrab) names only its product: `CensysInspect/1.1`.
    "censysinspect",
    // LeakIX's exposure scanners name only their programs: `l9explore/1.3.0` (its plugins ask
    // for `/.env`, `/config.json`, `/_all_dbs`, GraphQL), `l9tcpid/v1.1.0` (its banner grab),
    // `lkxscan/v0.1.0 (+https://leakix.net)`.
    "l9explore",
    "l9tcpid",
    "lkxscan",
];

/// Builds the user-agent lists, signals and tool matcher now (see [`super::prepare_lists`]).
pub(super) fn prepare() {
    lists::lists();
    signals::prepare();
    tools();
}

/// The HTTP clients and attack tools as one case-insensitive matcher.
fn tools() -> &'static aho_corasick::AhoCorasick {
    static M: OnceLock<aho_corasick::AhoCorasick> = OnceLock::new();
    M.get_or_init(|| {
        let words: Vec<String> = HTTP_CLIENTS
            .iter()
            .chain(ATTACK_TOOLS)
            .chain(&["headlesschrome", "phantomjs"])
            .map(|s| s.to_string())
            .collect();
        super::case_insensitive_matcher(&words)
    })
}

/// Whether an ai.robots.txt token occurs as a whole product name: not inside a longer word and
/// not as the prefix of a hyphenated name, so `OpenAI/1.0` is an agent but the SDK
/// `openai-python/1.54` (a client of your AI gateway) is not. Tokens of four letters or fewer
/// (`Code`) count only as the first product of the user agent.
fn named_ai(text: &str) -> Option<UaClass> {
    let l = lists::lists();
    let bytes = text.as_bytes();
    l.ai_matcher.find_overlapping_iter(text).find_map(|m| {
        let (start, end) = (m.start(), m.end());
        let before = start.checked_sub(1).map(|i| bytes[i]);
        let after = bytes.get(end).copied();
        let whole = !before.is_some_and(|b| b.is_ascii_alphanumeric())
            && !after.is_some_and(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        let short = end - start <= 4;
        let counts = whole && (!short || (start == 0 && matches!(after, None | Some(b'/'))));
        counts
            .then(|| l.ai_tokens.get(m.pattern().as_usize()).map(|t| t.class))
            .flatten()
    })
}

/// Classifies a user agent.
///
/// ```
/// use gatewatch_rules::functions::{ua_class, UaClass};
/// assert_eq!(ua_class("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2)"), UaClass::AiCrawler);
/// // A crawler no list knows yet, from its contact pointer and vocabulary:
/// assert_eq!(ua_class("Mozilla/5.0 (compatible; NovaLLMBot/0.3; +https://nova-llm.example/bot)"), UaClass::AiCrawler);
/// assert_eq!(ua_class("python-requests/2.31.0"), UaClass::Tool);
/// assert_eq!(ua_class("Mozilla/5.0 (compatible; ChatGPT-User/1.0; +https://openai.com/bot)"), UaClass::AiAgent);
/// assert_ne!(ua_class("openai-python/1.54.0"), UaClass::AiAgent);
/// assert_eq!(ua_class("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"), UaClass::Bot);
/// assert_eq!(ua_class("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"), UaClass::Browser);
/// ```
pub fn ua_class(ua: &str) -> UaClass {
    thread_local! {
        static SEEN: Remembered<UaClass> = remembered();
    }
    remember(&SEEN, ua, classify)
}

/// Answers per user agent, per thread (see [`crate::remembered`]).
pub(crate) type Remembered<V> = std::cell::RefCell<crate::remembered::Remembered<V>>;

/// An empty memory of answers per user agent: user agents repeat endlessly while answering
/// runs hundreds of patterns. At most 8192 agents of at most 1 KiB (longer ones, lines may be
/// 1 MiB, are answered but not kept): 8 MiB per thread.
pub(crate) fn remembered<V: Copy>() -> Remembered<V> {
    std::cell::RefCell::new(crate::remembered::Remembered::new(
        crate::remembered::Bounds {
            entries: 8192,
            bytes: 8 << 20,
            key_bytes: 1024,
        },
    ))
}

/// `compute(key)`, remembered in `cache` (not borrowed while computing, so one helper may ask
/// another's memory).
pub(crate) fn remember<V: Copy>(
    cache: &'static std::thread::LocalKey<Remembered<V>>,
    key: &str,
    compute: impl FnOnce(&str) -> V,
) -> V {
    if let Some(v) = cache.with(|m| m.borrow().get(key)) {
        return v;
    }
    let v = compute(key);
    cache.with(|m| m.borrow_mut().keep(key, v));
    v
}

fn classify(ua: &str) -> UaClass {
    let ua = ua.trim();
    if ua.is_empty() || ua == "-" {
        return UaClass::Empty;
    }
    // 0. One bare word of a library or of crawling names no one a list could name.
    if BARE_CLIENTS.iter().any(|c| ua.eq_ignore_ascii_case(c)) {
        return UaClass::Tool;
    }
    let l = lists::lists();
    let text = signals::signal_text(ua);
    // 1. Named by an AI list.
    if let Some(class) = named_ai(&text) {
        return class;
    }
    let s = signals::signals(ua, &text);
    let ai_class = if s.acts_for_user {
        UaClass::AiAgent
    } else {
        UaClass::AiCrawler
    };
    if l.ai_patterns.as_ref().is_some_and(|r| r.is_match(&text)) {
        return ai_class;
    }
    // 2. Tools announce themselves; a headless browser is a tool whatever else it says.
    if tools().is_match(ua) {
        return UaClass::Tool;
    }
    // 3. Generic AI signals, before the bot lists (a new AI crawler matches `bot` patterns).
    if s.ai_app || s.agent_named {
        return UaClass::AiAgent;
    }
    if s.extended_token {
        return UaClass::AiCrawler;
    }
    if (s.declared && s.ai) || s.ai_in_compatible {
        return ai_class;
    }
    // 4. Other lists, then any declared bot.
    if l.tool_patterns.as_ref().is_some_and(|r| r.is_match(&text)) {
        return UaClass::Tool;
    }
    if l.bot_patterns.as_ref().is_some_and(|r| r.is_match(&text)) {
        return if s.ai { ai_class } else { UaClass::Bot };
    }
    if s.declared {
        return UaClass::Bot;
    }
    if ua.starts_with("Mozilla/")
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
        let cases = [
            ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ChatGPT-User/1.0; +https://openai.com/bot)", UaClass::AiAgent),
            ("ClaudeBot/1.0", UaClass::AiCrawler),
            ("Mozilla/5.0 (compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", UaClass::AiCrawler),
            ("claude-cli/2.1.205 (external, cli)", UaClass::AiAgent),
            ("GitHubCopilotChat/0.23.2", UaClass::AiAgent),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36 (compatible; SomeAssistantAI/1.0)", UaClass::AiAgent),
            ("Applebot-Extended", UaClass::AiCrawler),
            ("curl/8.5.0", UaClass::Tool),
            // Libraries' default agents, as they send them.
            ("Ruby", UaClass::Tool),
            // A generic word alone names nobody; a crawler names itself.
            ("Spider", UaClass::Tool),
            ("crawler", UaClass::Tool),
            ("Bytespider", UaClass::AiCrawler),
            ("GuzzleHttp/7", UaClass::Tool),
            ("RestSharp/106.11.7.0", UaClass::Tool),
            ("fasthttp", UaClass::Tool),
            ("Faraday v1.10.3", UaClass::Tool),
            ("Dart/3.2 (dart:io)", UaClass::Tool),
            ("Java-http-client/17.0.9", UaClass::Tool),
            ("XML-RPC.NET", UaClass::Tool),
            ("Mozilla/3.0 (compatible; Indy Library)", UaClass::Tool),
            ("lua-resty-http/0.17.1 (Lua) ngx_lua/10025", UaClass::Tool),
            // A declared bot built on a library stays a bot: Mastodon fetches with http.rb.
            ("http.rb/5.0.4 (Mastodon/3.5.3; +https://example.social/)", UaClass::Bot),
            ("RubyGems/3.4.10 x86_64-linux Ruby/3.2.2", UaClass::Unknown),
            ("sqlmap/1.7.2#stable (https://sqlmap.org)", UaClass::Tool),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.0.0 Safari/537.36", UaClass::Tool),
            ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", UaClass::Bot),
            ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", UaClass::Bot),
            ("Mozilla/5.0 (compatible; AcmeStatusCheck/2.0; +https://status.acme.example)", UaClass::Bot),
            // "Agent" in a bot's name is older than AI agents.
            ("Mozilla/5.0 (compatible; NetcraftSurveyAgent/1.0; +info@netcraft.com)", UaClass::Bot),
            ("GoogleAgent-Search", UaClass::AiAgent),
            ("censys.io internet census", UaClass::Bot),
            ("kube-probe/1.29", UaClass::Unknown),
            ("ShopApp/4.12.0 (iPhone; iOS 18.1; Scale/3.00)", UaClass::Unknown),
            ("", UaClass::Empty),
        ];
        for (ua, want) in cases {
            assert_eq!(classify(ua), want, "{ua}");
        }
    }

    #[test]
    fn phones_and_apps_named_like_bots_or_ai_products_are_browsers() {
        for ua in [
            "Mozilla/5.0 (Linux; Android 7.0; M bot 54) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64.0.3282.137 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 13; Spider 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "Mozilla/5.0 (Linux; Android 9; Gemini PDA Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0 Mobile Safari/537.36",
            "Mozilla/5.0 (compatible; MSIE 9.0; Windows NT 6.1; Trident/5.0)",
            "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:40.0) Gecko/20100101 CometBird/40.0",
        ] {
            assert_eq!(classify(ua), UaClass::Browser, "{ua}");
        }
    }
}
