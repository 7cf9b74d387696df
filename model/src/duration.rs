//! Durations: one grammar for every setting that takes one — rule windows and `suppress_for`,
//! Sigma `timespan`, engine lateness, sink delays, Kafka URL options, command-line flags.
//!
//! The grammar is [`humantime`]'s: a number and a unit, repeated — `500ms`, `30s`, `10m`,
//! `2h`, `7d`, `1h 30m`, `15min`, `2hours`. Units: `ms`/`msec`, `s`/`sec`, `m`/`min`, `h`/`hr`,
//! `d`/`day`, `w`/`week` (and their plurals). No bare numbers: a unit is always written.

use std::time::Duration;

use serde::{Deserialize, Deserializer};

fn explain(text: &str, e: impl std::fmt::Display) -> String {
    format!("{text:?} is not a duration ({e}); write a number and a unit, like 500ms, 30s, 10m, 2h or 7d")
}

/// Parses a duration (zero allowed).
///
/// ```
/// use std::time::Duration;
/// use gatewatch_model::duration::parse;
/// assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5400)));
/// assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
/// assert!(parse("10").is_err());
/// ```
pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim()).map_err(|e| explain(text, e))
}

/// Parses a duration into whole milliseconds (zero allowed), as event-time settings use them.
pub fn parse_ms(text: &str) -> Result<i64, String> {
    let d = parse(text)?;
    i64::try_from(d.as_millis()).map_err(|_| format!("{text:?} is too long a duration"))
}

/// Parses a duration into whole milliseconds that must be more than zero (window sizes,
/// slides, timespans).
///
/// ```
/// use gatewatch_model::duration::parse_positive_ms;
/// assert_eq!(parse_positive_ms("1m"), Ok(60_000));
/// assert!(parse_positive_ms("0s").is_err());
/// ```
pub fn parse_positive_ms(text: &str) -> Result<i64, String> {
    match parse_ms(text)? {
        0 => Err(format!("{text:?}: must be more than zero")),
        ms => Ok(ms),
    }
}

/// Serde support for an optional duration field written as text (`#[serde(default, with =
/// "gatewatch_model::duration::option")]`): a bad value is reported where the deserializer
/// reports errors (a config file's line and column), not when the setting is first used.
pub mod option {
    use super::*;

    /// Deserializes `Option<Duration>` from an optional duration text.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        let v: Option<String> = Option::deserialize(d)?;
        v.map(|t| parse(&t).map_err(serde::de::Error::custom))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_grammar_with_errors_that_teach() {
        assert_eq!(parse("7d"), Ok(Duration::from_secs(7 * 86400)));
        assert_eq!(parse(" 24h "), Ok(Duration::from_secs(86400)));
        assert_eq!(parse_ms("0ms"), Ok(0));
        let e = parse("10 parsecs").unwrap_err();
        assert!(e.contains("like 500ms, 30s"), "{e}");
        assert!(parse("").is_err() && parse("m").is_err() && parse("-5s").is_err());
        assert!(parse_ms("100000000000000000000d").is_err());
    }
}
