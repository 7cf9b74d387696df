//! Code written into a request: a parameter, a path or a user agent that is SQL, markup and
//! script, a shell command or server-side code rather than data. Recognised by the grammar of
//! the injected language, not by product or payload list: a statement of SQL (`union select`,
//! `;insert into ... values`, `' or 'a'='a`), a tag carrying an event handler or a script
//! (`<svg/onload=`, `<x:script`), a shell invoked with a command (`sh -c`, `| base64 -d | sh`,
//! `cat /etc/...`, PowerShell's `Invoke-WebRequest`, `x||whoami`, `$(id)`), PHP, Node.js or
//! template code (`<?php`, `$_SERVER[`, `require('child_process')`, `__proto__[`, `{{7*7}}`),
//! a stream wrapper only file inclusion uses (`php://`, `data://`, `ssh2.shell://`), a
//! server-side include or an XML entity declaration (`<!--#exec`, `<!ENTITY`), a query in
//! another language than SQL (MongoDB's `$where`, an LDAP filter broken out of, `admin)(|(uid=*`), or a
//! header or mail command after a line break (`%0d%0aSet-Cookie:`, response splitting,
//! `%0aRCPT TO:`). Each text is also read as the program it is injected into would read it:
//! MySQL's version comments, a browser's character references (`&lt;svg/onload&equals;`),
//! a shell's quotes and empty variables (`/et'c/pa'ss'wd`). Searches that merely
//! use the words (`select a plan from`, `curl cream & gel`), query languages (JQL, OData, CQL)
//! and stack traces are not code; the patterns' doc says what each was tightened against.
//!
//! The word-list classes of [`super::probe_class`] (`sql-injection` for a quote or
//! `or 1=1`, counted over several requests) are left as they are: these shapes are what no
//! search box, form or API client sends, so one request is enough for `exploit-payload`.
//! Every pattern is a regular expression of the `regex` crate: linear in the text, whatever
//! an attacker writes.

use std::borrow::Cow;
use std::sync::OnceLock;

use regex::bytes::{RegexSet, RegexSetBuilder};

mod patterns;
mod views;

use patterns::patterns;

/// What [`injected_code`] answers, by priority (the first found wins).
pub const LANGUAGES: [&str; 6] = ["code", "shell", "sql", "query", "script", "header"];

/// The bits of a text's languages, one per entry of [`LANGUAGES`] in its order: the lowest bit
/// set is the answer.
const CODE: u8 = 1;
const SHELL: u8 = 2;
const SQL: u8 = 4;
const QUERY: u8 = 8;
const SCRIPT: u8 = 16;
const HEADER: u8 = 32;

struct Grammar {
    set: RegexSet,
    bits: Vec<u8>,
}

fn grammar() -> &'static Grammar {
    static G: OnceLock<Grammar> = OnceLock::new();
    G.get_or_init(|| {
        let (bits, sources): (Vec<u8>, Vec<String>) = patterns().into_iter().unzip();
        let set = RegexSetBuilder::new(&sources)
            .case_insensitive(true)
            // Bytes, ASCII classes: `\b` and `\w` stay in the DFA whatever the text holds.
            .unicode(false)
            .build()
            // The patterns are fixed and a test builds them; should they ever fail, nothing is
            // recognised (said loudly) rather than every rule failing.
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "injected_code's patterns do not compile: it answers NULL for every request");
                RegexSet::empty()
            });
        Grammar { set, bits }
    })
}

/// Builds the patterns now (see [`crate::functions::prepare_lists`]).
pub(super) fn prepare() {
    grammar();
}

/// Bytes without which no pattern can match (every pattern needs one of them: a space or
/// another blank, a quote, a bracket, an operator, a glob's `?`, or the `.`, `_`, `-` and `@` of
/// `constructor.prototype`, `information_schema`, `Invoke-Expression`, `@@version`): most
/// values (ids, numbers, tokens, single words) hold none and are answered without the patterns.
const NEEDED: &[u8] = b"<>'\"`({$|;*?:[_.#@-\\ \t\n\r\x0b\x0c";

/// [`NEEDED`] for a path: paths are full of `.`, `-` and `_` (`/static/app.min.js`,
/// `/docs/getting-started`), and code written into a path needs more (a space, a quote, a
/// bracket, an operator): without this gate every path would run the patterns.
const NEEDED_IN_PATH: &[u8] = b"<>'\"`({$|;*?:[#@\\ \t\n\r\x0b\x0c";

/// Whether `text` holds a byte of `needed` (one of the gates above).
fn may_hold_code(text: &str, needed: &[u8]) -> bool {
    text.bytes().any(|b| needed.contains(&b))
}

/// The languages found in one text (already decoded): in the text itself and in the other
/// readings of it (see [`views`]) that differ from it.
fn languages_in(text: &str) -> u8 {
    if !may_hold_code(text, NEEDED) {
        return 0;
    }
    let g = grammar();
    let read = |t: &str| {
        g.set
            .matches(t.as_bytes())
            .iter()
            .fold(0, |bits, i| bits | g.bits.get(i).copied().unwrap_or(0))
    };
    let mut found = read(text);
    if let Some(t) = views::without_version_comments(text) {
        found |= read(&t);
    }
    if let Some(t) = views::html_decoded(text) {
        found |= read(&t);
    }
    // Only what a shell runs: without its quotes a text's SQL or markup is another text.
    if let Some(t) = views::as_shell_words(text) {
        found |= read(&t) & SHELL;
    }
    found
}

/// `%XX` decoded, a second time when the first pass decoded something and left a `%`
/// (double encoding: `%2527` is a quote), `+` read as a space in query strings (in both
/// passes: a double-encoded space is `%2B` or `%2520`).
fn decoded(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    let once = super::probe::decode(s, plus_is_space);
    if once.contains('%') && matches!(once, Cow::Owned(_)) {
        let twice = super::probe::decode(&once, plus_is_space);
        if let Cow::Owned(t) = twice {
            return Cow::Owned(t);
        }
    }
    once
}

/// The languages a query string carries: each parameter's name and value decoded on its own
/// (patterns anchored at a value's start read the value, not `name=value`).
pub(crate) fn query_facts(query: Option<&str>) -> u8 {
    let Some(query) = query else { return 0 };
    query.split('&').fold(0, |found, param| {
        let (name, value) = param.split_once('=').unwrap_or(("", param));
        found | languages_in(&decoded(name, true)) | languages_in(&decoded(value, true))
    })
}

/// The languages a path carries (decoded, `+` kept).
pub(crate) fn path_facts(path: Option<&str>) -> u8 {
    path.map(|p| decoded(p, false))
        .filter(|p| may_hold_code(p, NEEDED_IN_PATH))
        .map_or(0, |p| languages_in(&p))
}

/// The languages a user agent carries: script, SQL and server-side code (headers carry
/// those); not shell, as `curl/8.0` or `Wget` are what tools call themselves.
/// Remembered per thread (bounded, see [`super::ua::remember`]): user agents repeat
/// endlessly, and every one of them holds a space.
pub(crate) fn agent_facts(user_agent: Option<&str>) -> u8 {
    thread_local! {
        static SEEN: super::ua::Remembered<u8> = super::ua::remembered();
    }
    user_agent.map_or(0, |ua| {
        super::ua::remember(&SEEN, ua, |ua| languages_in(ua) & !SHELL)
    })
}

/// The language of the code a request carries, from its columns' facts, by priority (see
/// [`LANGUAGES`]); 0 for none, else the index in [`LANGUAGES`] plus one.
pub(crate) fn decide(path: u8, query: u8, agent: u8) -> u8 {
    match path | query | agent {
        0 => 0,
        found => found.trailing_zeros() as u8 + 1,
    }
}

/// The language of code written into a request's path, query or user agent: `code`
/// (server-side: PHP, Node.js, templates, Java, inclusion wrappers, server-side includes,
/// XML entities), `shell`, `sql`, `query` (NoSQL and LDAP), `script` (markup and
/// JavaScript) or `header` (a header or mail command after a line break), or `None`.
///
/// ```
/// use gatewatch_rules::functions::injected_code;
/// assert_eq!(injected_code(Some("/"), Some("var=union%20select%20col%20from"), None), Some("sql"));
/// assert_eq!(injected_code(Some("/get"), Some("x=<script+>alert(1);</script>"), None), Some("script"));
/// assert_eq!(injected_code(Some("/get"), Some("code=ksh%20-c%20%22curl%20x%22"), None), Some("shell"));
/// assert_eq!(injected_code(Some("/"), Some("foo=require(%22child_process%22).exec('id')"), None), Some("code"));
/// assert_eq!(injected_code(Some("/search"), Some("q=select+a+plan+from+the+list"), None), None);
/// assert_eq!(injected_code(Some("/books"), Some("q=O%27Reilly+and+sons"), None), None);
/// ```
pub fn injected_code(
    path: Option<&str>,
    query: Option<&str>,
    user_agent: Option<&str>,
) -> Option<&'static str> {
    let found = decide(
        path_facts(path),
        query_facts(query),
        agent_facts(user_agent),
    );
    (found as usize)
        .checked_sub(1)
        .and_then(|i| LANGUAGES.get(i).copied())
}

#[cfg(test)]
mod evasion_tests;
#[cfg(test)]
mod tests;
