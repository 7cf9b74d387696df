//! Generic signals of a declared bot or AI client, for names no list knows yet.
//!
//! Measured on `eval/corpus` (real browser user agents against AI vendors' agents, see
//! `eval/corpus/browsers/NOTES.md`): a contact pointer (`+https://...`, `+bot@vendor`), a
//! `compatible; Name/x.y` section naming something other than a legacy browser, the vendor
//! template `Mozilla/5.0 AppleWebKit/...` without a platform, and bot/crawler name shapes are
//! (almost) never sent by browsers. Bot and AI words are only looked for outside the device
//! description: `(Linux; Android 7.0; M bot 54)` and `CUBOT` are phones.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::Regex;

use super::lists::{lists, registrable};

/// What the text of one user agent says about its sender.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(super) struct Signals {
    /// It declares itself an automated client: contact pointer, URL, `compatible; Name/x.y`,
    /// platform-less vendor template, bot or crawler name shapes, `-User`/`-Agent` tokens.
    pub declared: bool,
    /// AI vocabulary: vendor and product names, `AI` tokens, `.ai` domains, an AI vendor's
    /// domain, `-Extended` training tokens, and the words of text collection for models
    /// (`corpus`, `corpora`, `dataset`: a crawler building corpora gathers training text).
    pub ai: bool,
    /// AI vocabulary inside a `compatible;` section (a browser-like agent naming an AI product).
    pub ai_in_compatible: bool,
    /// Words of a client acting for a user (`-User`, agent, assistant, operator, CLI, chat).
    pub acts_for_user: bool,
    /// A name built on `Agent` the way AI vendors name theirs (`GoogleAgent-Search`,
    /// `Agent/AmazonBuyForMe`); `NetcraftSurveyAgent/1.0` is an older kind of bot.
    pub agent_named: bool,
    /// The whole user agent is an `X-Extended` token (the AI-training opt-out convention).
    pub extended_token: bool,
    /// The first product token names an AI product and a CLI, chat or coding client
    /// (`claude-cli/2.1`, `GeminiCLI/0.1`, `GitHubCopilotChat/0.23`), not an SDK.
    pub ai_app: bool,
}

struct Patterns {
    paren: Regex,
    device: Regex,
    declares: Regex,
    android_model: Regex,
    contact: Regex,
    compatible_name: Regex,
    compatible_section: Regex,
    bot_shape: Regex,
    crawl_word: Regex,
    user_agent_token: Regex,
    ai_word: Regex,
    acts_for_user: Regex,
    app_tool: Regex,
    agent_named: Regex,
    extended: Regex,
    extended_whole: Regex,
    host: Regex,
    product: Regex,
}

/// Compiles the patterns now (see [`crate::functions::prepare_lists`]).
pub(super) fn prepare() {
    patterns();
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let r = |s: &str| Regex::new(s).expect("static user-agent pattern");
        Patterns {
            paren: r(r"\(([^()]*)\)"),
            device: r(r"(?i)android|build/|dpi;|linux; u;|iphone|ipad|windows|macintosh|x11|cpu os|tizen|kaios|symbian|j2me|series"),
            declares: r(r"(?i)compatible|https?://|\+|@|bot|crawl|spider"),
            android_model: r(r"Android [^;]*; [^;]*Build/\S*"),
            contact: r(r"\+\s?https?://|\+[\w.-]+@[\w-]+\.|\+[\w-]+(\.[\w-]+)+|https?://|\b[\w.-]+@[\w-]+\.[a-z]{2,}"),
            compatible_name: r(r"compatible;\s*([A-Za-z][\w.\- ]*?)[/ ]?v?\d"),
            compatible_section: r(r"compatible;[^)]*"),
            bot_shape: r(r"[a-z]Bot\b|[Bb]ot/|\bbot\b|Bot[-_ ]|[a-z]bot\b"),
            crawl_word: r(r"(?i)crawl|spider|scrape|fetcher|scanner|census|survey"),
            user_agent_token: r(r"-User\b|-Agent\b|Agent/"),
            ai_word: r(r"(?i:openai|anthropic|claude|perplexity|mistral|cohere|gemini|kimi|moonshot|deepseek|qwen|groq|hugging ?face|\bllm|gpt|copilot|chatbot|codex|grok|devin|manus|\bxai\b|[a-z][\w-]*\.ai\b|\bai\b|-ai\b|corp(?:us|ora)\b|datasets?\b)|[a-z]AI\b|\bAI[A-Z0-9]|AI[A-Z][a-z]"),
            acts_for_user: r(r"(?i)-user\b|agent|assistant|operator|copilot|devin|manus|codex|cli\b|chat"),
            app_tool: r(r"(?i)cli|chat|code|agent|assistant"),
            agent_named: r(r"^Agent/|[a-z]Agent-[A-Z]"),
            extended: r(r"\w-[Ee]xtended\b"),
            extended_whole: r(r"^[A-Z]\w*-[Ee]xtended$"),
            host: r(r"(?:https?://|@|\+)(?:www\.)?([\w-]+(?:\.[\w-]+)+)"),
            product: r(r"^([A-Za-z][\w.-]*)(?:/|$| \()"),
        }
    })
}

/// The user agent without the parts that describe a device (the platform parenthesis of a
/// phone, an in-app browser's device block, an Android model before `Build/`), unless such a
/// part also declares a bot (`(compatible; Googlebot/2.1; +http://...)` stays).
pub(super) fn signal_text(ua: &str) -> Cow<'_, str> {
    let p = patterns();
    let without_devices = p.paren.replace_all(ua, |c: &regex::Captures<'_>| {
        let inner = &c[1];
        let phone = inner.contains("Android") || inner.contains("Build/") || inner.contains("dpi;");
        if p.declares.is_match(inner) && !phone {
            c[0].to_string()
        } else if p.device.is_match(inner) {
            "()".to_string()
        } else {
            c[0].to_string()
        }
    });
    match without_devices {
        Cow::Borrowed(_) if !p.android_model.is_match(ua) => Cow::Borrowed(ua),
        other => Cow::Owned(p.android_model.replace_all(&other, "").into_owned()),
    }
}

/// Legacy browsers that put their own name in `compatible;` (`MSIE 8.0`, `Konqueror/4`).
const LEGACY_COMPATIBLE: &[&str] = &[
    "msie",
    "konqueror",
    "netpositive",
    "antgalio",
    "ncbrowser",
    "antfresco",
    "gecko",
    "trident",
    "u",
];

/// The signals of `text` (already [`signal_text`]).
pub(super) fn signals(ua: &str, text: &str) -> Signals {
    let p = patterns();
    let compatible_bot = p.compatible_name.captures(text).is_some_and(|c| {
        let name = c[1]
            .trim()
            .split(' ')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        !LEGACY_COMPATIBLE.contains(&name.as_str())
    });
    let declared = p.contact.is_match(text)
        || compatible_bot
        || text.starts_with("Mozilla/5.0 AppleWebKit/")
        || p.bot_shape.is_match(text)
        || p.crawl_word.is_match(text)
        || p.user_agent_token.is_match(text);
    let ai_domain = p.host.captures_iter(text).any(|c| {
        lists()
            .ai_domains
            .contains(registrable(c.get(1).map_or("", |m| m.as_str())).as_str())
    });
    let ai = p.ai_word.is_match(text) || ai_domain || p.extended.is_match(text);
    let ai_in_compatible = p
        .compatible_section
        .find_iter(text)
        .any(|m| p.ai_word.is_match(m.as_str()));
    let agent_named = p.agent_named.is_match(text);
    let ai_app = p.product.captures(ua).is_some_and(|c| {
        let name = &c[1];
        p.ai_word.is_match(name) && p.app_tool.is_match(name)
    });
    Signals {
        declared,
        ai,
        ai_in_compatible,
        acts_for_user: p.acts_for_user.is_match(text),
        agent_named,
        extended_token: p.extended_whole.is_match(text.trim()),
        ai_app,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_models_are_not_read_as_bot_or_ai_words() {
        let t = signal_text("Mozilla/5.0 (Linux; Android 7.0; M bot 54) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/64.0 Safari/537.36");
        assert!(!t.contains("bot"), "{t}");
        let t = signal_text("Dalvik/2.1.0 (Linux; U; Android 11; AI PONT Build/RP1A)");
        assert!(!t.contains("AI PONT"), "{t}");
        let ua = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/99.0 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)";
        assert!(signal_text(ua).contains("Googlebot"));
    }

    #[test]
    fn declared_bots_and_ai_vocabulary() {
        let s = |ua: &str| signals(ua, &signal_text(ua));
        let perplexity = s("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; Perplexity-User/1.0; +https://perplexity.ai/perplexity-user)");
        assert!(perplexity.declared && perplexity.ai && perplexity.acts_for_user);
        let firefox = s("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0");
        assert_eq!(firefox, Signals::default());
        let ie = s("Mozilla/4.0 (compatible; MSIE 8.0; Windows NT 6.1; Trident/4.0)");
        assert!(!ie.declared, "{ie:?}");
        assert!(s("claude-cli/2.1.205 (external, cli)").ai_app);
        assert!(
            !s("openai-python/1.54.0").ai_app,
            "an SDK is a client of your AI gateway"
        );
        assert!(s("Applebot-Extended").extended_token);
        // A crawler collecting text corpora declares what its pages are for.
        let corpus = s("CorpusCollector (+https://corpora.example.org/crawler.html)");
        assert!(corpus.declared && corpus.ai, "{corpus:?}");
        // `Safari` and `Haiku` contain "ai" without being AI words.
        assert!(!s("Mozilla/5.0 (compatible; U; Webpositive/533.4; Haiku) AppleWebkit/533.4 Safari/533.4").ai);
    }
}
