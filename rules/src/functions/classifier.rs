//! The helpers that classify a request from a few of its text fields into one of a few names:
//! `ua_class(user_agent)` and `probe_class(path, query, user_agent)`. One definition of what
//! each answers for a tuple of (possibly NULL) values, read by the SQL functions ([`super::udf`])
//! and by the filter leaf that answers them once per distinct tuple (`mask::leaf::classify`).

use super::{probe_class, ua_class};

/// A pure function of text values answering one of a few static names, or NULL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Classifier {
    /// `ua_class(user_agent)`: NULL for a NULL user agent.
    UaClass,
    /// `probe_class(path, query, user_agent)`: NULL for a NULL path or an ordinary request.
    ProbeClass,
}

impl Classifier {
    /// The classifier a SQL function of this name calls.
    pub fn named(name: &str) -> Option<Classifier> {
        match name {
            "ua_class" => Some(Classifier::UaClass),
            "probe_class" => Some(Classifier::ProbeClass),
            _ => None,
        }
    }

    /// Its SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Classifier::UaClass => "ua_class",
            Classifier::ProbeClass => "probe_class",
        }
    }

    /// How many text arguments it takes.
    pub fn arity(self) -> usize {
        match self {
            Classifier::UaClass => 1,
            Classifier::ProbeClass => 3,
        }
    }

    /// The answer for one tuple of argument values (`arity` of them; NULL otherwise).
    pub fn answer(self, values: &[Option<&str>]) -> Option<&'static str> {
        match (self, values) {
            (Classifier::UaClass, [ua]) => ua.map(|ua| ua_class(ua).as_str()),
            (Classifier::ProbeClass, [path, query, ua]) => probe_class((*path)?, *query, *ua),
            _ => None,
        }
    }
}
