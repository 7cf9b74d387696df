//! Counterfeit browser agents: a user agent whose first product misspells `Mozilla`
//! (`Mozila/5.0`, `Mozlila/5.0 (Linux; Android 7.0; ... Bulid/NRD90M ...)`), or a browser's
//! agent with every space taken out (`Mozilla/5.0(WindowsNT10.0;Win64;x64;rv:79.0)Gecko/...`).
//! Browsers write their agent from a fixed string; a bot author typing one by hand gets it
//! wrong, or a tool rotating agents from a list mangles them, and the botnet then sends the
//! counterfeit from every address. One definition for `probe_class`'s `scanner-agent` (the
//! misspelling) and `counterfeit_agent` (all three: also a browser's agent wrapped in quotes).

/// The product every browser agent starts with.
const BROWSER_PRODUCT: &str = "mozilla";

/// Edits (insertions, deletions, substitutions) a misspelling of [`BROWSER_PRODUCT`] may need:
/// two covers a doubled or dropped letter and two letters swapped (`Mozlila`). Three would
/// reach other words (`Mozart`, `Mosaic` are four or more).
const MAX_EDITS: usize = 2;

/// Whether the agent's first product (the text before its first `/`) is a misspelling of
/// `Mozilla`: not `Mozilla` itself in any case, within [`MAX_EDITS`] edits of it, and
/// starting with its `M`. Agents without a `/` have no product to judge.
pub(super) fn counterfeit_browser(ua: &str) -> bool {
    let Some((product, _)) = ua.trim_start().split_once('/') else {
        return false;
    };
    // A length far from seven letters is no misspelling; this also bounds the edit distance
    // work to short strings whatever the agent's length.
    if !(BROWSER_PRODUCT.len() - MAX_EDITS..=BROWSER_PRODUCT.len() + MAX_EDITS)
        .contains(&product.len())
    {
        return false;
    }
    let product = product.to_ascii_lowercase();
    product != BROWSER_PRODUCT
        && product.starts_with('m')
        && strsim::levenshtein(&product, BROWSER_PRODUCT) <= MAX_EDITS
}

/// Whether the agent is a browser's with every space taken out: `Mozilla/` and a version run
/// straight into the comment (`Mozilla/5.0(`), another product follows the comment
/// (`)Gecko/20100101Firefox/79.0`, `)AppleWebKit/537.36(KHTML,likeGecko)...`), and there is
/// no space anywhere. Every browser writes a space between its products and inside its comment
/// (`Windows NT`, `like Gecko`); contact-form and comment spam tools that rotate agents send
/// them stripped, a new one per pair of requests. A television's agent written without spaces
/// ends with its comment (`Mozilla/5.0(SmartHub;SMART-TV;U;Linux/SmartTV;Maple2012).`): no
/// product follows, and it is not one. Nor is UC Browser's, which writes its own agent so
/// (`Mozilla/5.0(Linux;U;Android5.0;...)...UCBrowser/10.8.0.718U3/0.8.0...`; WURFL ships a
/// normaliser that puts its spaces back).
pub(super) fn spaceless_browser(ua: &str) -> bool {
    let Some(rest) = ua.strip_prefix("Mozilla/") else {
        return false;
    };
    let version = rest
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let Some(comment) = rest[version..].strip_prefix('(').filter(|_| version > 0) else {
        return false;
    };
    if ua.bytes().any(|b| b.is_ascii_whitespace()) {
        return false;
    }
    // A product after the comment: a name, then its slash.
    comment.split_once(')').is_some_and(|(_, after)| {
        after.split_once('/').is_some_and(|(name, _)| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    }) && !["UCBrowser", "UCWEB"].iter().any(|uc| ua.contains(uc))
}

/// Whether the agent is a browser's wrapped in quotes: `"Mozilla/5.0"`, logged by NGINX as
/// `\x22Mozilla/5.0\x22` and by Apache as `\"Mozilla/5.0\"`. A script whose author wrote the
/// header's quotes into its value sends it (`-H 'User-Agent: "Mozilla/5.0"'`); a browser writes
/// its agent without them. Not a declared bot's: an integration whose configured agent kept its
/// quotes (`"Mozilla/5.0 (compatible; AcmeSync/2.1; +url)"` from an env file) says what it is.
pub(super) fn quoted_browser(ua: &str) -> bool {
    ["\\x22", "\\\"", "\""]
        .iter()
        .find_map(|q| ua.strip_prefix(q))
        .is_some_and(|rest| rest.starts_with("Mozilla/"))
        && !declared_bot(ua)
}

/// Whether the agent declares a bot, an AI crawler or an AI agent: it says what it is, whatever
/// typo or quotes it carries.
pub(super) fn declared_bot(ua: &str) -> bool {
    use crate::functions::UaClass;
    matches!(
        crate::functions::ua::ua_class(ua),
        UaClass::Bot | UaClass::AiCrawler | UaClass::AiAgent
    )
}

#[cfg(test)]
mod tests {
    use super::{counterfeit_browser, quoted_browser, spaceless_browser};

    /// As a vCenter prober sent it (heldout119's forecast.log), in each server's escaping.
    #[test]
    fn a_browser_agent_wrapped_in_quotes_is_counterfeit() {
        for ua in [
            "\\x22Mozilla/5.0",
            "\\x22Mozilla/5.0 (Windows NT 10.0; Win64; x64)\\x22",
            "\\\"Mozilla/5.0\\\"",
            "\"Mozilla/5.0\"",
        ] {
            assert!(quoted_browser(ua), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "\\x22curl/8.5.0\\x22",
            "Mozilla/5.0 (compatible; \\x22Bot\\x22)",
            "\\x22Mozilla/5.0 (compatible; AcmeSync/2.1; +https://acme.example/bot)\\x22",
        ] {
            assert!(!quoted_browser(ua), "{ua}");
        }
    }

    #[test]
    fn browser_agents_with_their_spaces_stripped_are_counterfeit() {
        // As a Joomla contact-form spam botnet sent them (heldout69's almhuette2020).
        for ua in [
            "Mozilla/5.0(WindowsNT10.0;Win64;x64;rv:79.0)Gecko/20100101Firefox/79.0",
            "Mozilla/5.0(Linux;Android9;LM-K410)AppleWebKit/537.36(KHTML,likeGecko)Chrome/85.0.4183.81MobileSafari/537.36",
            "Mozilla/5.0(Macintosh;IntelMacOSX10.14;rv:68.0)Gecko/20100101Firefox/68.0",
        ] {
            assert!(spaceless_browser(ua), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:79.0) Gecko/20100101 Firefox/79.0",
            // Real agents with one space missing somewhere still have the others.
            "Mozilla/5.0(Linux; Android 4.2.1; zh-cn; UTIME X1 Build/JOP40D) AppleWebkit/534.30 (KHTML,like Gecko) Version/4.0 Mobile Safari/534.30",
            "Mozilla/5.0(SmartHub;SMART-TV;U;Linux/SmartTV;Maple2012).",
            "Mozilla/5.0(Linux;U;Android5.0;en-US;SM-G900FBuild/LRX21T)AppleWebKit/534.30(KHTML,likeGecko)Version/4.0UCBrowser/10.8.0.718U3/0.8.0MobileSafari/534.30",
            "Mozilla/5.0(compatible;SomeBot/1.0)",
            "Mozilla/(x)Gecko/1",
            "Mozilla/5.0",
            "curl/8.5.0",
            "",
        ] {
            assert!(!spaceless_browser(ua), "{ua}");
        }
    }

    #[test]
    fn misspelt_browser_names_are_counterfeit() {
        for ua in [
            "Mozila/5.0",
            "Mozlila/5.0 (Linux; Android 7.0; SM-G892A Bulid/NRD90M; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/60.0.3112.107 Moblie Safari/537.36",
            "Mozzilla/5.0 (Windows NT 10.0; Win64; x64)",
            "Mozilal/4.0 (compatible; MSIE 6.0)",
        ] {
            assert!(counterfeit_browser(ua), "{ua}");
        }
    }

    #[test]
    fn browsers_and_other_products_are_not() {
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
            "mozilla/5.0",
            "MOZILLA/4.0",
            "MozacFetch/133.0",
            "Mozart/1.0",
            "Mosaic/2.0",
            "Mobile/15E148",
            "Opera/9.80 (Windows NT 6.1)",
            "curl/8.5.0",
            "Mozilla",
            "",
        ] {
            assert!(!counterfeit_browser(ua), "{ua}");
        }
    }
}
