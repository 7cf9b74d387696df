//! What an HTTP status says about the path a client asked for, decided once for every rule
//! that counts a scanner's misses (`missing(status)`, `refused(status)` in SQL and Rhai), so a
//! server's way of turning bots away counts the same everywhere.
//!
//! Servers say "not here" in more ways than 404: 410 (gone), 418 (the teapot many WAF and bot
//! filters answer scanners with), and nginx's 444 (connection closed without a response, logged
//! as 444). 403 refuses the path without saying whether it exists; a probe answered 403 found
//! nothing either. 429 (rate limited) is neither: the path may well exist, and an ordinary client
//! that goes too fast gets it for every page it asks. 3xx says nothing (a listener that
//! redirects everything to HTTPS answers every path 301).

/// The statuses [`missing`] names.
pub const MISSING: &[i32] = &[404, 410, 418, 444];

/// The statuses [`refused`] names.
pub const REFUSED: &[i32] = &[403, 404, 410, 418, 444];

/// Whether `status` says the site does not serve the path: 404, 410, 418 or 444.
///
/// ```
/// use gatewatch_rules::functions::status::missing;
/// assert!(missing(404) && missing(444));
/// assert!(!missing(403) && !missing(429) && !missing(301));
/// ```
pub fn missing(status: i64) -> bool {
    i32::try_from(status).is_ok_and(|s| MISSING.contains(&s))
}

/// Whether `status` says the client did not get the path: [`missing`], or 403.
///
/// ```
/// use gatewatch_rules::functions::status::refused;
/// assert!(refused(403) && refused(410) && refused(418));
/// assert!(!refused(200) && !refused(429) && !refused(500));
/// ```
pub fn refused(status: i64) -> bool {
    i32::try_from(status).is_ok_and(|s| REFUSED.contains(&s))
}
