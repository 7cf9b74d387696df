//! The helpers that classify a request from a few of its text fields into one of a few names:
//! `ua_class(user_agent)`, `probe_class(path, query, user_agent)`,
//! `injected_code(path, query, user_agent)` and `crawler_verified(user_agent, client_ip)`. One definition of what
//! each answers for a tuple of (possibly NULL) values, read by the SQL functions ([`super::udf`])
//! and by the filter leaf that answers them once per distinct tuple (`mask::leaf::classify`).

use super::{crawler_verified, injected_code, probe_class, ua_class};

/// A pure function of text values answering one of a few static names, or NULL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classifier {
    /// `ua_class(user_agent)`: NULL for a NULL user agent.
    UaClass,
    /// `probe_class(path, query, user_agent)`: NULL for a NULL path or an ordinary request.
    ProbeClass,
    /// `injected_code(path, query, user_agent)`: NULL when no column carries code.
    InjectedCode,
    /// `crawler_verified(user_agent, client_ip)`: NULL unless the user agent claims a crawler
    /// with published ranges.
    CrawlerVerified,
}

impl Classifier {
    /// The classifier a SQL function of this name calls.
    pub fn named(name: &str) -> Option<Classifier> {
        match name {
            "ua_class" => Some(Classifier::UaClass),
            "probe_class" => Some(Classifier::ProbeClass),
            "injected_code" => Some(Classifier::InjectedCode),
            "crawler_verified" => Some(Classifier::CrawlerVerified),
            _ => None,
        }
    }

    /// Its SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Classifier::UaClass => "ua_class",
            Classifier::ProbeClass => "probe_class",
            Classifier::InjectedCode => "injected_code",
            Classifier::CrawlerVerified => "crawler_verified",
        }
    }

    /// How many text arguments it takes.
    pub fn arity(self) -> usize {
        match self {
            Classifier::UaClass => 1,
            Classifier::ProbeClass | Classifier::InjectedCode => 3,
            Classifier::CrawlerVerified => 2,
        }
    }

    /// Whether the answer for a first argument `first` can be other than NULL, whatever the
    /// other arguments: `crawler_verified` reads the address only when the user agent claims a
    /// crawler with published ranges (a few agents of a batch), so the rows of every other
    /// agent are answered without reading their address.
    pub fn reads_rest(self, first: Option<&str>) -> bool {
        match self {
            Classifier::CrawlerVerified => first.is_some_and(super::ua::verify::claims_verifiable),
            Classifier::UaClass | Classifier::ProbeClass | Classifier::InjectedCode => true,
        }
    }

    /// The answer for one tuple of argument values (`arity` of them; NULL otherwise).
    pub fn answer(self, values: &[Option<&str>]) -> Option<&'static str> {
        match (self, values) {
            (Classifier::UaClass, [ua]) => ua.map(|ua| ua_class(ua).as_str()),
            (Classifier::ProbeClass, [path, query, ua]) => probe_class((*path)?, *query, *ua),
            (Classifier::InjectedCode, [path, query, ua]) => injected_code(*path, *query, *ua),
            (Classifier::CrawlerVerified, [ua, ip]) => crawler_verified((*ua)?, ip.unwrap_or("")),
            _ => None,
        }
    }
}
