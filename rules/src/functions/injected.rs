//! Code written into a request: a parameter, a path or a user agent that is SQL, markup and
//! script, a shell command or server-side code rather than data. Recognised by the grammar of
//! the injected language, not by product or payload list: a statement of SQL (`union select`,
//! `;insert into ... values`, `' or 'a'='a`), a tag carrying an event handler or a script
//! (`<svg/onload=`, `<x:script`), a shell invoked with a command (`sh -c`, `| base64 -d | sh`,
//! `cat /etc/...`, PowerShell's `Invoke-WebRequest`, `x||whoami`, `$(id)`), PHP, Node.js or
//! template code (`<?php`, `$_SERVER[`, `require('child_process')`, `__proto__[`, `{{7*7}}`),
//! a stream wrapper only file inclusion uses (`php://`, `data://`, `ssh2.shell://`), or a
//! header after a line break (`%0d%0aSet-Cookie:`, response splitting). Searches that merely
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

/// What [`injected_code`] answers, by priority (the first found wins).
pub const LANGUAGES: [&str; 5] = ["code", "shell", "sql", "script", "header"];

/// The bits of a text's languages, one per entry of [`LANGUAGES`].
const CODE: u8 = 1;
const SHELL: u8 = 2;
const SQL: u8 = 4;
const SCRIPT: u8 = 8;
const HEADER: u8 = 16;

/// Whitespace as injected payloads write it: spaces, tabs, newlines, vertical tabs and form
/// feeds (MySQL reads both as spaces), and SQL comments, which the patterns read as spaces:
/// `/**/`, `/*x*/`, the opening of MySQL's version comments `/*!50000`, and a line comment up
/// to its newline (`--x%0A`, `#x%0A`).
const WS: &str = r"(?:\s|/\*[^*]{0,64}\*/|/\*!?\d*|\*/|(?:--|#)[^\n]{0,64}\n)";

/// SQL functions an injected select list calls (`select concat(user,0x3a,password) from`).
const SQL_FUNCTIONS: &str = "count|concat|concat_ws|group_concat|char|chr|version|database|schema|user|current_user|system_user|session_user|substring|substr|mid|ascii|ord|hex|unhex|md5|sha1|sleep|benchmark|load_file|if|cast|convert";

/// Only comments, not spaces, as SQL writes them between tokens where prose has spaces
/// (`1=1`, `'a'='a'`, `a,b`).
const COMMENT: &str = r"(?:/\*[^*]{0,64}\*/|/\*!?\d*|\*/|(?:--|#)[^\n]{0,64}\n)";

/// DOM events a handler attribute names, for a handler written without a tag (an attribute
/// value closed, then `onfocus=...`): `on` and any word would take `online=` and `onboarding=`.
const EVENTS: &str = r"on(?:error|load|focus|blur|focusin|focusout|click|dblclick|auxclick|contextmenu|mouse\w+|pointer\w+|key\w+|touch\w+|drag\w*|drop|toggle|begin|end|repeat|start|finish|animation\w+|transition\w+|input|beforeinput|change|submit|reset|select|invalid|search|scroll\w*|wheel|copy|cut|paste|page\w+|hashchange|popstate|message|resize|show|play\w*|pause|canplay\w*|loadstart|loadeddata|afterprint|beforeprint|beforeunload|unload|beforetoggle|content\w+)\b";

/// The patterns and the language each one means. Each needs at least one byte of
/// [`NEEDED`] (a test checks the gate against one example per pattern).
/// Tightened against false positives two reviewers built from ordinary traffic: prose that
/// names SQL verbs, query languages (JQL, CQL, OData), shop searches with `&`, page titles with
/// `| Bash`, unfilled `${process.env...}` placeholders, stack traces, `javascript:` links.
fn patterns() -> Vec<(u8, String)> {
    let (ws, wsc, f) = (WS, COMMENT, SQL_FUNCTIONS);
    // What follows an injected `select`: a star, a variable, NULL, a number list, a column
    // list (commas without spaces around them, or with comments), or a function call.
    let select_list =
        format!(r"(?:\*|@@\w|null\b|\d+{ws}*,|[\w.]+{ws}*,{ws}*[\w.(@'`]|(?:{f}){ws}*\()");
    let strict_list =
        format!(r"(?:\*|@@\w|null\b|\d+{ws}*,|[\w.]+{wsc}*,{wsc}*[\w.(@'`]|(?:{f}){ws}*\()");
    let mut p: Vec<(u8, String)> = Vec::new();
    let mut add = |bit: u8, s: String| p.push((bit, s));
    // SQL: a statement, a stacked query, a subquery, a catalogue only databases have, an
    // error-based function, or a quote closed and followed by a tautology or a comment.
    add(
        SQL,
        format!(
            r#"(?:^|[\d'"`)]){ws}*union(?:{ws}+(?:all|distinct|distinctrow))?(?:{ws}+|{ws}*\({ws}*)select(?:{ws}+|{ws}*\(){ws}*(?:{strict_list}|\d+{ws}*(?:,|--|#|\)|from\b|$)|'|\(|[\w.]+(?:{ws}*,{ws}*[\w.]+)*{ws}+from{ws}+[\w.$\[\]`]+{ws}*(?:$|--|#|;|\)|where\b|limit\b|order\b|union\b)|[\w.]+{ws}+from{ws}*$)"#
        ),
    );
    add(
        SQL,
        format!(r"\bselect{ws}+{strict_list}[^;]{{0,200}}?{ws}from{ws}+[\w.\[\]`]+"),
    );
    add(
        SQL,
        format!(r"\(\s*select{ws}+[\w.@*]+{ws}+from{ws}+[\w.$#\[\]`]+{ws}*(?:\)|where\b|limit\b)"),
    );
    add(
        SQL,
        format!(
            r";{ws}*(?:select{ws}+{select_list}|insert{ws}+into\b|update{ws}+[\w.\[\]`]+{ws}+set\b|delete{ws}+from\b|drop{ws}+(?:table|database|schema|user|procedure|function|view)\b|exec(?:ute)?{ws}*(?:\(|@|(?:master\.\.)?(?:xp|sp)_)|declare{ws}+@|(?:create|alter){ws}+(?:table|function|procedure|user|database)\b|shutdown{ws}*(?:--|#|;|with\b)|truncate{ws}+table\b|waitfor{ws}+delay\b)"
        ),
    );
    add(
        SQL,
        format!(r"\binsert{ws}+into{ws}+[\w.\[\]`]+[^;]{{0,200}}?\bvalues{ws}*\("),
    );
    add(
        SQL,
        format!(
            r#"\bdelete{ws}+from{ws}+[\w.\[\]`]+{ws}+where{ws}+[\w.\[\]`'"]+{ws}*(?:=|<|>|!=|\blike\b|\bin\b|\bis\b)"#
        ),
    );
    add(
        SQL,
        format!(r#"\bupdate{ws}+[\w.\[\]`]+{ws}+set{ws}+[\w.\[\]`]+{ws}*={ws}*(?:['"`(@]|0x|\d)"#),
    );
    add(
        SQL,
        format!(r"\bexec(?:ute)?{ws}+(?:master\.\.)?(?:xp|sp)_\w+"),
    );
    add(
        SQL,
        format!(
            r"\bcreate{ws}+(?:or{ws}+replace{ws}+)?(?:function|procedure|trigger){ws}+[\w.]+{ws}*\(.{{0,200}}?\){ws}*(?:returns|as|begin)\b"
        ),
    );
    add(
        SQL,
        format!(
            r"\b(?:pg_sleep{ws}*\(|xp_cmdshell|dbms_pipe\.receive_message|utl_inaddr)\b|\binformation_schema{ws}*\.{ws}*(?:tables|columns|schemata|routines|processlist|user_privileges|statistics|views|triggers|key_column_usage|table_constraints|plugins|innodb_\w+)\b|\bfrom{ws}+information_schema\b|\bsysdate\(\s*\)|@@version\b|\binto{ws}+(?:out|dump)file\b|\bload_file{ws}*\("
        ),
    );
    add(
        SQL,
        format!(
            r#"['"]\)*{ws}*(?:\bor\b|\band\b|\bxor\b|\|\||&&){ws}*\(?{ws}*(?:['"]\w{{0,20}}['"]{wsc}*(?:=|<>|!=|{ws}like{ws}){wsc}*['"]|\b\d+{ws}*(?:=|<>|!=|<=?|>=?){ws}*\d+\b|(?:true|false)\b|sleep{ws}*\(|\d+{ws}*(?:--|#))"#
        ),
    );
    add(
        SQL,
        r#"'\)*\s*(?:--[\s-]*$|#\s*$)|"\)*(?:--[\s-]*$|#$)|['"]\)*\s*;\s*--(?:[\s-]|$)"#
            .to_string(),
    );
    add(
        SQL,
        format!(
            r"^-?\d+\)*{ws}+(?:or|and|&&|\|\|){ws}+\d+(?:{wsc}*(?:=|<>|!=|<|>){wsc}*|{ws}+like{ws}+)\d+"
        ),
    );
    add(
        SQL,
        format!(
            r"(?:[(,=<>]|\bin|\bexists){ws}*\({ws}*select(?:{ws}+|{ws}*\(){ws}*(?:{select_list}|\(|[\w.]+{ws}+from\b)|\b(?:extractvalue|updatexml|gtid_subset|json_keys)\s*\(|\bprocedure{ws}+analyse\b|\b(?:randomblob|zeroblob)\s*\(\s*\d{{6}}"
        ),
    );
    add(
        SQL,
        format!(r#"^-?(?:\d+['"`)]*|['"`)]+){ws}*order{ws}+by{ws}+\d+{ws}*(?:--|#|$|/\*)"#),
    );
    // Markup and script: a tag whose event handler calls something, a script tag that runs
    // or loads something (a namespaced one, or one closed and another opened), an attribute
    // value closed and a tag or a handler opened after it (`'"><`, `" onfocus=`: the probes
    // that test whether a value is reflected unescaped inside a tag), `javascript:` calling
    // what attacks call, a quote closed to call a function, CSS that binds script, a data URI
    // that is a page or a script, a meta refresh or base URL.
    add(
        SCRIPT,
        r#"<[a-z][\w:.-]*(?:[\s/"'][^>]{0,400}?)?[\s/"'`]on[a-z]{3,}\s*=\s*['"`]?\s*(?:[\w$.:\[\]'"+]{1,60}\s*[(`=&\\]|[(\[]|&#?\w+;|\\[ux])"#.to_string(),
    );
    add(SCRIPT, r"<\s*/?\s*[a-z]+:script\b|<\s*script\b[^>]{0,400}(?:>[^<]{0,200}?[(`=]|\bsrc\s*=)|<\s*/\s*script\s*>\s*<".to_string());
    add(SCRIPT, r#"^[^<]*['"]\s*/?>\s*<[a-z!/]"#.to_string());
    add(
        SCRIPT,
        format!(
            r#"^[^<]*['"][^<>]{{0,100}}?[\s/'"]{EVENTS}\s*=\s*['"`]?\s*(?:[\w$.:\[\]'"+]{{1,60}}\s*[(`=&\\]|[(\[]|&#?\w+;)"#
        ),
    );
    add(SCRIPT, r"\b(?:java|vb|live)[\t\n\r]*script\s*(?::|&colon;|&#0*58;?|&#x0*3a;?)(?s:.){0,80}?(?:alert|prompt|confirm|eval|fetch|atob|fromcharcode|import\s*\(|msgbox|document\s*\.\s*(?:cookie|domain|write|location)|location\s*(?:\.\s*href\s*)?=|settimeout|setinterval|constructor|\\u00|\\x[0-9a-f])".to_string());
    add(
        SCRIPT,
        r#"['"`]\s*[;)}+\-,|&]\s*(?:(?:alert|prompt|confirm|eval|settimeout|setinterval|fetch)[(`]|(?:document|window|top|self|this)\s*(?:\.\s*\w+|\[[^\]]{0,80}\])\s*[(=])"#.to_string(),
    );
    add(
        SCRIPT,
        r"-moz-binding\s*:|\beval\s*\(\s*(?:string\.fromcharcode|atob|unescape)\b".to_string(),
    );
    add(SCRIPT, r#"\bdata:\s*(?:text/html|text/javascript|application/(?:x-)?javascript)\b|<meta\b[^>]{0,400}?http-equiv\s*=\s*['"]?\s*(?:refresh|set-cookie)|<base\b[^>]{0,400}?href\s*="#.to_string());
    // A header written into a value after a line break (`%0d%0aSet-Cookie:`, also the
    // `嘊嘍` pair some servers fold into CR LF): response splitting. The value's first line
    // has no space or colon (a token the attacker ends), so multi-line text, an iCal
    // `LOCATION:` or a pasted header dump is not one.
    add(HEADER, r"^[^\s:]{0,200}(?:[\r\n]|\xe5\x98[\x8a\x8d])+[ \t]*(?:set-cookie\s*:|content-length\s*:|access-control-allow-[a-z-]+\s*:|location\s*:\s*(?:https?:)?//|content-type\s*:\s*text/html|x-xss-protection\s*:|refresh\s*:\s*\d)".to_string());
    // Shell: a shell asked to run a command (PowerShell by its start-up switches), output
    // piped into a shell, a binary fetched from an address, a system file read, PowerShell's
    // and Windows' download-and-run, reverse shells.
    add(SHELL, r"\b(?:ba|k|z|da|c|tc)?sh\s+-c\b|\bbusybox\s+(?:-c|sh|wget|nc|tftp)\b|\bcmd(?:\.exe)?\s+/[ck]\b|\b(?:powershell|pwsh)(?:\.exe)?\s+(?:-\w+\s+)*-(?:c|command|e|ec|enc|encodedcommand|nop|noprofile|noni|noninteractive|w|windowstyle|ep|executionpolicy|f|file|sta|nologo)\b".to_string());
    add(SHELL, r##"\b(?:wget|curl|echo|printf|base64|cat|tftp|nc|openssl)\b[^|\n]{0,200}\|\s*(?:ba|k|z|da)?sh\b\s*(?:$|[;&|)`'"#]|-)"##.to_string());
    add(SHELL, r"\b(?:wget|curl)\s+(?:-\S+\s+)*(?:https?|ftp)://(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:wget|curl)\s+(?:-\S+\s+)*\S*(?:://|\d{1,3}(?:\.\d{1,3}){3})[^;|&\n]{0,200}(?:\s-O-?|[;|&]|>\s*/)".to_string());
    add(SHELL, r"\b(?:cat|more|less|head|tail|type|nl|strings)\s+(?:/etc/|/proc/|/sys/|/root/|c:\\(?:windows|boot\.ini|inetpub))".to_string());
    add(SHELL, r#"\b(?:invoke-(?:webrequest|restmethod)|iwr|irm)\s+(?:-uri\s+)?['"]?https?://|\binvoke-expression\s*[(\$'"]|\biex\s*\(\s*(?:new-object|iwr|irm|invoke-|[(\['"$])|\bnew-object\s+(?:system\.)?net\.webclient|\bdownload(?:string|file)\s*\(\s*['"](?:https?|ftp)://|\bstart-process\s+['"]?\S+\.(?:exe|ps1|bat|cmd)\b"#.to_string());
    add(SHELL, r"\b(?:mshta|certutil|bitsadmin|regsvr32|rundll32)(?:\.exe)?\s+\S*\s*(?:https?://|[-/](?:urlcache|transfer|s\b|i:))|\breg(?:edit)?(?:\.exe)?\s+(?:(?:add|delete|query|export|import)\s+)?hk(?:lm|cu|ey_)".to_string());
    add(SHELL, r#"\b(?:nc|ncat|netcat)\s+(?:-\w+\s+)*-[ec]\s+/bin/(?:ba)?sh\b|\b(?:ba)?sh\s+-i\b[^\n]{0,40}/dev/(?:tcp|udp)/|\b(?:python[23]?|perl|ruby|php)\s+-[cer]\s+['"][^'"]{0,200}\b(?:socket|subprocess|fsockopen|exec|system|pty)\b"#.to_string());
    // A command chained after the value with a shell-only operator (`||`, `&&`) or a line
    // break, or substituted (`$(id)`): reconnaissance commands an injection test runs first.
    // A single `;` is `probe_class`'s (lists such as `name;id;email` use it).
    add(SHELL, r"(?:\|\||&&)\s*(?:id|whoami|uname|ls|cat|pwd|hostname|ifconfig|ipconfig|netstat|ping|sleep|curl|wget|nslookup|ps)\b(?:\s+-{1,2}[a-z]|\s+/|\s*$|\s*[;|&`#])|[\r\n]\s*(?:id|whoami|uname|pwd|ifconfig|ipconfig|netstat|nslookup)\b\s*(?:$|-[a-z]|[;|&`])|\$\(\s*(?:id|whoami|uname|ls|cat|pwd|hostname|ifconfig|ipconfig|ping|sleep|curl|wget|echo|env|ps|netstat|nslookup)\b[^)]{0,60}\)".to_string());
    // Server-side code: PHP (open tag, Smarty's `{php}`, superglobals, functions that run or
    // decode code called with an argument, includes of a URL or a system file), stream
    // wrappers only file inclusion uses, Node.js (modules that run programs, prototype
    // pollution, node-serialize), template expressions that compute or reach the runtime,
    // Java reflection.
    add(
        CODE,
        r"<\?(?:php\b|=|\s|[a-wyz_]\w*\s*\()|\{/?php\}".to_string(),
    );
    add(
        CODE,
        r"\$_(?:get|post|request|server|cookie|files|env|session)\s*\[|\$globals\s*\[".to_string(),
    );
    add(CODE, r#"(?:^|[^.\w])(?:base64_decode|gzinflate|gzuncompress|str_rot13|shell_exec|passthru|proc_open|popen|pcntl_exec|pfsockopen|fsockopen|file_put_contents|file_get_contents|create_function|call_user_func(?:_array)?|preg_replace)\s*\(\s*[^)\s]|\bphpinfo\s*\(\s*\)|(?:^|[^.\w])(?:system|exec|assert|eval)\(\s*(?:['"`]|\$[a-z_])|\b(?:include|require)(?:_once)?\s*\(?\s*['"](?:(?:https?|ftps?|php|data|expect)://|/etc/|\.\./)"#.to_string());
    add(CODE, r"\b(?:php|phar|expect|zip|glob|ogg|rar|compress\.(?:zlib|bzip2)|ssh2\.(?:shell|exec|tunnel|sftp|scp))://|\bdata://|\bdata:text/plain(?:;base64)?,\s*(?:<\?|PD9)".to_string());
    add(CODE, r#"\brequire\s*\(\s*['"`](?:child_process|fs|net|os|vm|http)['"`]\s*\)|\bchild_process['"`]?\s*\)?\s*\.\s*(?:exec|spawn|fork)|\bprocess\s*\.\s*(?:binding|mainmodule|dlopen)\b|\.\s*constructor\s*\.\s*constructor\b|\bconstructor\s*(?:\.|\]?\s*\[\s*['"]?)\s*prototype\b|__proto__['"]?\s*[\[.\]:]|\bconstructor['"]?\s*:\s*\{\s*['"]?prototype\b|_\$\$nd_func\$\$_"#.to_string());
    add(CODE, r#"(?:\{\{|\$\{|#\{|\*\{|%\{|@\(|<%=?|\{%)\s*-?\d+\s*\*\s*['"]?\d+['"]?\s*(?:\}|%|\))|(?:\{\{|\$\{|#\{|\*\{|%\{|<%=?|\{%)[^}%]{0,100}?(?:__(?:class|mro|subclasses|globals|builtins|import|init)__|\.constructor\b|\bprocess\s*\.\s*(?:mainmodule|binding|dlopen|kill|exit)\b|\brequire\s*\(|getruntime|getclass|forname|\bt\(java|\|\s*attr\s*\(|\|\s*(?:filter|map|reduce|sort)\s*\(\s*['"](?:system|exec|passthru|shell_exec|popen|proc_open)|registerundefinedfiltercallback|_self\s*\.\s*env\b|\b(?:popen|system|exec|eval)\s*\(|`[^`]{1,40}`|\bfile\s*\.\s*(?:open|read)|\bio\s*\.\s*popen)"#.to_string());
    add(CODE, r#"(?:\bnew\s+|[@(\['"]\s*)java\.lang\.(?:runtime|processbuilder)\b|\bjava\.lang\.runtime\s*[.@]\s*getruntime\b|\bgetruntime\s*\(\s*\)\s*\.\s*exec\b|\bclass\.forname\s*\(\s*['"]"#.to_string());
    p
}

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
/// another blank, a quote, a bracket, an operator, or the `.`, `_`, `-` and `@` of
/// `constructor.prototype`, `information_schema`, `Invoke-Expression`, `@@version`): most
/// values (ids, numbers, tokens, single words) hold none and are answered without the patterns.
const NEEDED: &[u8] = b"<>'\"`({$|;*:[_.#@-\\ \t\n\r\x0b\x0c";

/// [`NEEDED`] for a path: paths are full of `.`, `-` and `_` (`/static/app.min.js`,
/// `/docs/getting-started`), and code written into a path needs more (a space, a quote, a
/// bracket, an operator): without this gate every path would run the patterns.
const NEEDED_IN_PATH: &[u8] = b"<>'\"`({$|;*:[#@\\ \t\n\r\x0b\x0c";

/// Whether `text` holds a byte of `needed` (one of the gates above).
fn may_hold_code(text: &str, needed: &[u8]) -> bool {
    text.bytes().any(|b| needed.contains(&b))
}

/// The languages found in one text (already decoded).
fn languages_in(text: &str) -> u8 {
    if !may_hold_code(text, NEEDED) {
        return 0;
    }
    // MySQL runs what its version comments hold (`/*!50000UNION*/`): the comment's opening is
    // read as a space, so the keyword after it starts a word.
    let text: Cow<'_, str> = match text.contains("/*!") {
        true => Cow::Owned(without_version_comments(text)),
        false => Cow::Borrowed(text),
    };
    let g = grammar();
    g.set
        .matches(text.as_bytes())
        .iter()
        .fold(0, |bits, i| bits | g.bits.get(i).copied().unwrap_or(0))
}

/// `text` with each MySQL version comment's opening (`/*!`, `/*!50000`) replaced by a space.
fn without_version_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("/*!") {
        out.push_str(&rest[..at]);
        out.push(' ');
        rest = rest[at + 3..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    out.push_str(rest);
    out
}

/// `%XX` decoded, a second time when the first pass decoded something and left a `%`
/// (double encoding: `%2527` is a quote), `+` read as a space in query strings.
fn decoded(s: &str, plus_is_space: bool) -> Cow<'_, str> {
    let once = super::probe::decode(s, plus_is_space);
    if once.contains('%') && matches!(once, Cow::Owned(_)) {
        let twice = super::probe::decode(&once, false);
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
    let found = path | query | agent;
    [CODE, SHELL, SQL, SCRIPT, HEADER]
        .iter()
        .position(|bit| found & bit != 0)
        .map_or(0, |i| i as u8 + 1)
}

/// The language of code written into a request's path, query or user agent: `code`
/// (server-side: PHP, Node.js, templates, Java, inclusion wrappers), `shell`, `sql`,
/// `script` (markup and JavaScript) or `header` (a header after a line break), or `None`.
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
mod tests;
