//! User agents more than one actor sends (an actor's own agent lives with the actor).

/// Desktop browsers: benign users, and attackers passing as them.
pub(crate) const BROWSER_UAS: &[&str] = &[
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
];
/// The shop's mobile app and a mobile browser.
pub(crate) const MOBILE_UAS: &[&str] = &[
    "ShopApp/4.12.0 (iPhone; iOS 18.1; Scale/3.00)",
    "ShopApp/4.12.0 (Android 14; Pixel 8)",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
];
/// Every AI-gateway consumer's client library.
pub(crate) const AI_CLIENT_UA: &str = "openai-python/1.54.0";
