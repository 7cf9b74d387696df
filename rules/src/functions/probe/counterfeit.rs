//! Counterfeit browser agents: a user agent whose first product misspells `Mozilla`
//! (`Mozila/5.0`, `Mozlila/5.0 (Linux; Android 7.0; ... Bulid/NRD90M ...)`). Browsers write
//! their own name from a fixed string; a bot author typing one by hand gets it wrong, and the
//! botnet then sends the typo from every address. One definition for `probe_class`'s
//! `scanner-agent`.

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

#[cfg(test)]
mod tests {
    use super::counterfeit_browser;

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
