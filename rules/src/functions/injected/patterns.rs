//! The patterns of [`super::injected_code`], one regular expression per shape, each with the
//! language it means. Tightened against false positives two reviewers built from ordinary
//! traffic; each addition says what it was built from.

use super::{CODE, HEADER, QUERY, SCRIPT, SHELL, SQL};

/// Whitespace as injected payloads write it: spaces, tabs, newlines, vertical tabs and form
/// feeds (MySQL reads both as spaces), and SQL comments, which the patterns read as spaces:
/// `/**/`, `/*x*/`, `/**8**/`, the opening of MySQL's version comments `/*!50000`, and a line comment up
/// to its newline (`--x%0A`, `#x%0A`).
const WS: &str = r"(?:\s|/\*[^/]*\*/|/\*!?\d*|\*/|(?:--|#)[^\n]*\n)";

/// SQL functions an injected select list calls (`select concat(user,0x3a,password) from`).
const SQL_FUNCTIONS: &str = "count|concat|concat_ws|group_concat|char|chr|version|database|schema|user|current_user|system_user|session_user|substring|substr|mid|ascii|ord|hex|unhex|md5|sha1|sleep|benchmark|load_file|if|cast|convert";

/// Only comments, not spaces, as SQL writes them between tokens where prose has spaces
/// (`1=1`, `'a'='a'`, `a,b`).
const COMMENT: &str = r"(?:/\*[^/]*\*/|/\*!?\d*|\*/|(?:--|#)[^\n]*\n)";

/// DOM events a handler attribute names, for a handler written without a tag (an attribute
/// value closed, then `onfocus=...`): `on` and any word would take `online=` and `onboarding=`.
const EVENTS: &str = r"on(?:error|load|focus|blur|focusin|focusout|click|dblclick|auxclick|contextmenu|mouse\w+|pointer\w+|key\w+|touch\w+|drag\w*|drop|toggle|begin|end|repeat|start|finish|animation\w+|transition\w+|input|beforeinput|change|submit|reset|select|invalid|search|scroll\w*|wheel|copy|cut|paste|page\w+|hashchange|popstate|message|resize|show|play\w*|pause|canplay\w*|loadstart|loadeddata|afterprint|beforeprint|beforeunload|unload|beforetoggle|content\w+)\b";

/// A path segment written as a glob: letters and wildcards, at least one wildcard and at least
/// one letter or `?` (`e?c`, `*asswd`, `???`; not a globstar `**` or a bare `*`).
const GLOB: &str = r"(?:[a-z]*\?[a-z?*]*|[a-z]+\*[a-z?*]*|\*+[a-z][a-z?*]*)";

/// Reconnaissance commands an injection test runs first, as written inside backquotes.
const RECON: &str = r"\s*(?:id|whoami|uname(?:\s+-\w+)?|hostname|pwd|ls(?:\s+-\w+)?|ifconfig|ipconfig|env|sleep\s+\d+)\s*";

/// The patterns and the language each one means. Each needs at least one byte of
/// [`super::NEEDED`] (a test checks the gate against one example per pattern).
/// Tightened against false positives two reviewers built from ordinary traffic: prose that
/// names SQL verbs, query languages (JQL, CQL, OData), shop searches with `&`, page titles with
/// `| Bash`, unfilled `${process.env...}` placeholders, stack traces, `javascript:` links.
pub(super) fn patterns() -> Vec<(u8, String)> {
    let (ws, wsc, f) = (WS, COMMENT, SQL_FUNCTIONS);
    // What follows an injected `select`: a star, a variable, NULL, a number list (`-7431.1,`), a column
    // list (commas without spaces around them, or with comments), or a function call.
    let select_list = format!(
        r"(?:\*|@@\w|null\b|-?\d+(?:\.\d+)?{ws}*,|[\w.]+{ws}*,{ws}*[\w.(@'`]|(?:{f}){ws}*\()"
    );
    let strict_list = format!(
        r"(?:\*|@@\w|null\b|-?\d+(?:\.\d+)?{ws}*,|[\w.]+{wsc}*,{wsc}*[\w.(@'`]|(?:{f}){ws}*\()"
    );
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
        format!(r"\bselect{ws}+{strict_list}[^;]*?{ws}from{ws}+[\w.\[\]`]+"),
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
        format!(r"\binsert{ws}+into{ws}+[\w.\[\]`]+[^;]*?\bvalues{ws}*\("),
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
            r"\bcreate{ws}+(?:or{ws}+replace{ws}+)?(?:function|procedure|trigger){ws}+[\w.]+{ws}*\(.*?\){ws}*(?:returns|as|begin)\b"
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
            r#"['"]\)*{ws}*(?:\bor\b|\band\b|\bxor\b|\|\||&&){ws}*\(?{ws}*(?:['"]\w*['"]{wsc}*(?:=|<>|!=|{ws}like{ws}){wsc}*['"]|\b\d+{ws}*(?:=|<>|!=|<=?|>=?){ws}*\d+\b|\b\d+\.\d+=\d+\.\d+\b|(?:true|false)\b|sleep{ws}*\(|\d+{ws}*(?:--|#))"#
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
    // value closed and a tag or a handler opened after it (`'"><`, `" onfocus=`, `"onclick=`: the probes
    // that test whether a value is reflected unescaped inside a tag), `javascript:` calling
    // what attacks call, a quote closed to call a function, CSS that binds script, a data URI
    // that is a page or a script, a meta refresh or base URL.
    add(
        SCRIPT,
        r#"<[a-z][\w:.-]*(?:[\s/"'][^>]*?)?[\s/"'`]on[a-z]{3,}\s*=\s*['"`]?\s*(?:[\w$.:\[\]'"+]+\s*[(`=&\\]|[(\[]|&#?\w+;|\\[ux])"#.to_string(),
    );
    add(SCRIPT, r"<\s*/?\s*[a-z]+:script\b|<\s*script\b[^>]*(?:>[^<]*?[(`=]|\bsrc\s*=)|<\s*/\s*script\s*>\s*<".to_string());
    add(SCRIPT, r#"^[^<]*['"]\s*/?>\s*<[a-z!/]"#.to_string());
    add(
        SCRIPT,
        format!(
            r#"^[^<]*['"](?:[^<>]*?[\s/'"])?{EVENTS}\s*=\s*['"`]?\s*(?:[\w$.:\[\]'"+]+\s*[(`=&\\]|[(\[]|&#?\w+;)"#
        ),
    );
    add(SCRIPT, r"\b(?:java|vb|live)[\t\n\r]*script\s*(?::|&colon;|&#0*58;?|&#x0*3a;?)(?s:.)*?(?:alert|prompt|confirm|eval|fetch|atob|fromcharcode|import\s*\(|msgbox|document\s*\.\s*(?:cookie|domain|write|location)|location\s*(?:\.\s*href\s*)?=|settimeout|setinterval|constructor|\\u00|\\x[0-9a-f])".to_string());
    add(
        SCRIPT,
        r#"['"`]\s*[;)}+\-,|&]\s*(?:(?:alert|prompt|confirm|eval|settimeout|setinterval|fetch)[(`]|(?:document|window|top|self|this)\s*(?:\.\s*\w+|\[[^\]]*\])\s*[(=])"#.to_string(),
    );
    add(
        SCRIPT,
        r"-moz-binding\s*:|\beval\s*\(\s*(?:string\.fromcharcode|atob|unescape)\b".to_string(),
    );
    add(SCRIPT, r#"\bdata:\s*(?:text/html|text/javascript|application/(?:x-)?javascript)\b|<meta\b[^>]*?http-equiv\s*=\s*['"]?\s*(?:refresh|set-cookie)|<base\b[^>]*?href\s*="#.to_string());
    // A header written into a value after a line break (`%0d%0aSet-Cookie:`, also the
    // `嘊嘍` pair some servers fold into CR LF): response splitting. The value's first line
    // has no space or colon (a token the attacker ends), so multi-line text, an iCal
    // `LOCATION:` or a pasted header dump is not one.
    add(HEADER, r"^[^\s:]*(?:[\r\n]|\xe5\x98[\x8a\x8d])+[ \t]*(?:set-cookie\s*:|content-length\s*:|access-control-allow-[a-z-]+\s*:|location\s*:\s*(?:https?:)?//|content-type\s*:\s*text/html|x-xss-protection\s*:|refresh\s*:\s*\d)".to_string());
    // Shell: a shell asked to run a command (PowerShell by its start-up switches), output
    // piped into a shell, a binary fetched from an address, a system file read, PowerShell's
    // and Windows' download-and-run, reverse shells.
    add(SHELL, r"\b(?:ba|k|z|da|c|tc)?sh\s+-c\b|\bbusybox\s+(?:-c|sh|wget|nc|tftp)\b|\bcmd(?:\.exe)?\s+/[ck]\b|\b(?:powershell|pwsh)(?:\.exe)?\s+(?:-\w+\s+)*-(?:c|command|e|ec|enc|encodedcommand|nop|noprofile|noni|noninteractive|w|windowstyle|ep|executionpolicy|f|file|sta|nologo)\b".to_string());
    add(SHELL, r##"\b(?:wget|curl|echo|printf|base64|cat|tftp|nc|openssl)\b[^|\n]*\|\s*(?:ba|k|z|da)?sh\b\s*(?:$|[;&|)`'"#]|-)"##.to_string());
    add(SHELL, r"\b(?:wget|curl)\s+(?:-\S+\s+)*(?:https?|ftp)://(?:\d{1,3}\.){3}\d{1,3}\b|\b(?:wget|curl)\s+(?:-\S+\s+)*\S*(?:://|\d{1,3}(?:\.\d{1,3}){3})[^;|&\n]*(?:\s-O-?|[;|&]|>\s*/)".to_string());
    add(SHELL, r"\b(?:cat|more|less|head|tail|type|nl|strings)\s+(?:/etc/|/proc/|/sys/|/root/|c:\\(?:windows|boot\.ini|inetpub))".to_string());
    add(SHELL, r#"\b(?:invoke-(?:webrequest|restmethod)|iwr|irm)\s+(?:-uri\s+)?['"]?https?://|\binvoke-expression\s*[(\$'"]|\biex\s*\(\s*(?:new-object|iwr|irm|invoke-|[(\['"$])|\bnew-object\s+(?:system\.)?net\.webclient|\bdownload(?:string|file)\s*\(\s*['"](?:https?|ftp)://|\bstart-process\s+['"]?\S+\.(?:exe|ps1|bat|cmd)\b"#.to_string());
    add(SHELL, r"\b(?:mshta|certutil|bitsadmin|regsvr32|rundll32)(?:\.exe)?\s+\S*\s*(?:https?://|[-/](?:urlcache|transfer|s\b|i:))|\breg(?:edit)?(?:\.exe)?\s+(?:(?:add|delete|query|export|import)\s+)?hk(?:lm|cu|ey_)".to_string());
    add(SHELL, r#"\b(?:nc|ncat|netcat)\s+(?:-\w+\s+)*-[ec]\s+/bin/(?:ba)?sh\b|\b(?:ba)?sh\s+-i\b[^\n]*/dev/(?:tcp|udp)/|\b(?:python[23]?|perl|ruby|php)\s+-[cer]\s+['"][^'"]*\b(?:socket|subprocess|fsockopen|exec|system|pty)\b"#.to_string());
    // A command chained after the value with a shell-only operator (`||`, `&&`) or a line
    // break, or substituted (`$(id)`): reconnaissance commands an injection test runs first.
    // A single `;` is `probe_class`'s (lists such as `name;id;email` use it).
    add(SHELL, r"(?:\|\||&&)\s*(?:id|whoami|uname|ls|cat|pwd|hostname|ifconfig|ipconfig|netstat|ping|sleep|curl|wget|nslookup|ps)\b(?:\s+-{1,2}[a-z]|\s+/|\s*$|\s*[;|&`#])|[\r\n]\s*(?:id|whoami|uname|pwd|ifconfig|ipconfig|netstat|nslookup)\b\s*(?:$|-[a-z]|[;|&`])|\$\(\s*(?:id|whoami|uname|ls|cat|pwd|hostname|ifconfig|ipconfig|ping|sleep|curl|wget|echo|env|ps|netstat|nslookup)\b[^)]*\)".to_string());
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
    add(CODE, r#"(?:\{\{|\$\{|#\{|\*\{|%\{|@\(|<%=?|\{%)\s*-?\d+\s*\*\s*['"]?\d+['"]?\s*(?:\}|%|\))|(?:\{\{|\$\{|#\{|\*\{|%\{|<%=?|\{%)[^}%]*?(?:__(?:class|mro|subclasses|globals|builtins|import|init)__|\.constructor\b|\bprocess\s*\.\s*(?:mainmodule|binding|dlopen|kill|exit)\b|\brequire\s*\(|getruntime|getclass|forname|\bt\(java|\|\s*attr\s*\(|\|\s*(?:filter|map|reduce|sort)\s*\(\s*['"](?:system|exec|passthru|shell_exec|popen|proc_open)|registerundefinedfiltercallback|_self\s*\.\s*env\b|\b(?:popen|system|exec|eval)\s*\(|`[^`]+`|\bfile\s*\.\s*(?:open|read)|\bio\s*\.\s*popen)"#.to_string());
    add(CODE, r#"(?:\bnew\s+|[@(\['"]\s*)java\.lang\.(?:runtime|processbuilder)\b|\bjava\.lang\.runtime\s*[.@]\s*getruntime\b|\bgetruntime\s*\(\s*\)\s*\.\s*exec\b|\bclass\.forname\s*\(\s*['"]"#.to_string());
    // Added after GoTestWAF's test cases (eval/heldout13) were read: the same languages
    // written as WAF-evasion tools write them.
    // SQL: keywords between comments (`/**/union/**/select`), a keyword inside a MySQL version
    // comment (read on the text as sent: `/*!50000union*/`), a select list written without
    // spaces up to a quoted table (`select@^1.from`t``), Oracle's `dual`.
    add(
        SQL,
        format!(r"\bunion(?:{ws}*{COMMENT}{ws}*)+(?:(?:all|distinct){ws}+)?select\b"),
    );
    add(SQL, r"/\*!\d{0,5}(?:union|select|and|or|from|where|concat|sleep|benchmark|order|group|having|insert|update|delete|drop)\b".to_string());
    add(SQL, r"\bselect[^\w\s][^\s]*?from\s*[`\[]".to_string());
    add(
        SQL,
        format!(
            r"\bselect{ws}+[\w@.,()*]+{ws}+from{ws}+dual{ws}*(?:$|--|#|;|\)|where\b|union\b|order\b|connect\b)"
        ),
    );
    // Script: alert, confirm and prompt called indirectly (`(alert)(1)` without a space, as
    // i18n strings `Password (confirm) (required)` have one; `alert.call(null,1)`,
    // `alert?.(1)`, `[1].some(confirm)` on an array literal, not `items.filter(confirm)`), a
    // cookie read by subscript; attributes separated by slashes instead of spaces
    // (`<img/src=x/onerror=`), which no HTML author writes.
    add(SCRIPT, r#"\b(?:alert|confirm|prompt)\s*(?:\.\s*(?:call|apply|bind)\s*\(|\?\.\s*\()|\(\s*(?:alert|confirm|prompt|eval)\s*\)[(`]|\]\s*\.\s*(?:some|map|foreach|find|filter|every)\s*\(\s*(?:alert|confirm|prompt|eval)\s*\)|\bdocument\s*\[\s*['"`](?:cookie|domain|location)['"`]\s*\]"#.to_string());
    add(SCRIPT, format!(r"<[a-z]+/[^>\s]*?/{EVENTS}\s*="));
    // Shell: a path written as a glob (`/e?c/?asswd`, `/???/??t`: two segments of letters and
    // wildcards; not `/**/*.js`), a command substituted with shell-shaped arguments
    // (`$(printf '...'|rev)`, `$(curl -s ...)`; not jQuery's `$(document)`, Make's
    // `$(wildcard src/*.c)` or TeX's `$(x + y)$`), a reconnaissance command in backquotes
    // touching the value around it (`--exec=`id``; prose's "the `id` column" has spaces),
    // cmd.exe's arithmetic after a pipe (`| set /a 3482*7301`: the product echoed back proves
    // execution).
    add(
        SHELL,
        format!(r#"(?:^|[\s;|&`'"(=+])/{GLOB}/{GLOB}(?:[\s;|&`'")/+]|$)"#),
    );
    add(
        SHELL,
        r#"\$\(\s*(?:[a-z][\w.-]+|/[\w/.-]+)\s+(?:-|/|['"$]|https?:)[^)]*\)(?:[^$]|$)|\$\([^)$]*\|[^)]*\)(?:[^$]|$)"#.to_string(),
    );
    add(
        SHELL,
        format!(r"[^\s`]`{RECON}`|`{RECON}`[^\s`]|^`{RECON}`$"),
    );
    add(SHELL, r"[|&]\s*set\s+/a\s+\d+\s*[*+]\s*\d+".to_string());
    // Code: server-side include directives (`<!--#exec cmd=`, exactly Apache's start tag; not
    // a comment `<!-- # Setup -->`), an XML document declaring entities (XXE: `<!ENTITY`, a
    // DOCTYPE with an internal subset or a system identifier that is an absolute URL or path;
    // not the W3C's public identifiers, `about:legacy-compat` or a relative `note.dtd`).
    add(CODE, r#"<!--#\s*(?:exec|include|echo|config|set|printenv|fsize|flastmod)\b|<!entity\b|<!doctype\s+[\w:-]+\s*(?:system\s*['"](?:(?:https?|file|ftp|php|expect|jar|data|gopher|netdoc):|/)|\[)"#.to_string());
    // Query languages other than SQL: MongoDB's `$where` given JavaScript (not GraphQL's
    // `$where: users_bool_exp`), a whole value that is a shell command on a collection
    // (`db.injection.insert({success:1});`), a quote closed before an operator in a value that
    // is no JSON document (`', $or: [`); an LDAP filter opened after data or closed and another
    // opened, in a value that is not itself a whole filter (`*(|(objectclass=*))`,
    // `admin)(|(uid=*`; an LDAP tool's `(&(objectClass=person)(uid=x))` is its ordinary input),
    // or extensible match (`userPassword:2.5.13.18:=`). Operators in parameter names
    // (`filters[price][$gt]=`) and JSON filters (`{"$or":[...]}`) are Strapi's, Parse's and
    // RESTHeart's ordinary API and are left alone.
    add(QUERY, r#"\$where['"]?\s*:\s*(?:['"`]|function\b|\d|true\b)|\[\s*\$where\s*\]|(?:^|/|['"]\s*;\s*)db\s*\.\s*[a-z_]\w*\s*\.\s*(?:insert|find|drop|remove|update|aggregate|delete)\w*\s*\(\s*(?:\{[^)]*\})?\s*\)\s*;?\s*$|^[^{\[]*['"]\s*,\s*['"]?\$(?:or|and|where|ne|gt|regex)['"]?\s*:"#.to_string());
    add(
        QUERY,
        r"^[^(\s][^\n]*?(?:\(\s*[|&!]\s*\(|\)\s*\((?:\s*[|&!]?\s*\()*\s*[|&!]?)\s*[\w-]+[~<>]?=(?:[^=]|$)|\b[a-z][\w-]*(?::dn)?:\d+(?:\.\d+){3,}:=".to_string(),
    );
    // Mail commands with their arguments after a line break in a value whose first line is one
    // token (SMTP and IMAP injection), as `header` above: `RCPT TO: a@b`, `HELO host.example`,
    // `A1 CAPABILITY`, `A1 FETCH 1`; not words on lines of a text area (`Big\r\nData`,
    // `A1 select the cell`).
    add(HEADER, r"^[^\s:]*[\r\n]+[ \t]*(?:(?:rcpt[ \t]+to|mail[ \t]+from)[ \t]*:[ \t]*<?[^\s@<>]*@|[a-z]\d{1,4}[ \t]+(?:capability|logout|noop)[ \t]*(?:[\r\n]|$)|[a-z]\d{1,4}[ \t]+(?:uid[ \t]+)?fetch[ \t]+\d|[a-z]\d{1,4}[ \t]+login[ \t]+\S+[ \t]+\S|(?:helo|ehlo)[ \t]+[\w-]+\.[\w.-]+)".to_string());
    p
}
