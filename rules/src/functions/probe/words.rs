//! The words `probe_class` looks for beyond CrowdSec's lists: code and command injection,
//! scanners' marks in URLs, traversal spellings, and credential dotfiles. (`DECODED_SQLI` stays in `probe.rs`: the
//! DuckDB peer benchmark reads it from there.)

/// Code, command and expression injection, as it looks once percent-decoded (`+` read as a
/// space): what a request carries when it tries to run something on the server, whatever the
/// product or CVE. Lookup and expression languages (Log4Shell's `${jndi:`, Text4Shell's
/// `${script:`, OGNL, FreeMarker, Java's `Runtime`), class-loader manipulation (Spring4Shell),
/// PHP execution (`call_user_func_array`, `php://input`), shell commands chained into a
/// parameter (`;wget `, `$(echo`, `${IFS}`, `rm -rf`) and Shellshock's function prefix.
/// No ordinary request or browser sends these.
pub(super) const CODE_INJECTION: &[&str] = &[
    "${jndi:",
    "${script:",
    "${url:",
    "${dns:",
    "${env:",
    "${sys:",
    "${lower:",
    "${upper:",
    "${::-",
    "${base64:",
    "${(#",
    "%{(#",
    "#_memberaccess",
    "@java.lang.runtime@",
    // Called, not named: `java.lang.RuntimeException` in a stack trace or a search is not one.
    "java.lang.runtime)",
    "java.lang.runtime.getruntime",
    "getruntime().exec",
    "java.lang.processbuilder(",
    "new java.lang.processbuilder",
    "freemarker.template.utility.execute",
    "class.module.classloader",
    "class.classloader",
    "call_user_func_array",
    "invokefunction",
    "php://input",
    "allow_url_include",
    "auto_prepend_file",
    "<?php",
    "shell_exec(",
    "passthru(",
    "${ifs}",
    "$(echo",
    "$(wget",
    "$(curl",
    ";wget ",
    "|wget ",
    "`wget ",
    ";curl ",
    "|curl ",
    ";sh ",
    "| sh ",
    "|sh ",
    "/bin/sh ",
    "/bin/bash ",
    "rm -rf ",
    "/dev/tcp/",
    "() { :;",
    "() { :; };",
];

/// Marks scanners leave in the URLs they request, matched case-insensitively in the path and
/// query (raw and decoded): the tool naming itself where a person's request never would, like
/// a scanner's user agent (`probe_class`'s `scanner-agent`). DFind's `w00tw00t.at.ISC.SANS...`
/// and Muieblackcat's `/muieblackcat` probe requests, Acunetix's made-up test files, Nmap's
/// (its scripting engine asks `/nmaplowercheck<time>`, `/NmapUpperCheck<time>` and
/// `/Nmap/folder/check<time>` to learn the server's 404, `nselib/http.lua`; its version scan
/// `/nice%20ports%2C/Tri%6Eity.txt%2ebak`, matched decoded), and the
/// out-of-band callback domains of Burp Collaborator, ProjectDiscovery's interactsh (Nuclei's
/// blind-injection tests) and the Chinese DNS-log services: a request carrying one is a scanner
/// waiting for the server to call back.
pub(super) const SCANNER_MARKS: &[&str] = &[
    "w00tw00t.at.",
    "/muieblackcat",
    "acunetix-wvs-test",
    "acunetix_wvs_security_test",
    "/nmaplowercheck",
    "/nmapuppercheck",
    "/nmap/folder/check",
    "/nice ports,/tri",
    ".burpcollaborator.net",
    ".oastify.com",
    ".oast.pro",
    ".oast.live",
    ".oast.site",
    ".oast.online",
    ".oast.fun",
    ".oast.me",
    ".interact.sh",
    ".dnslog.cn",
    ".ceye.io",
];

/// Whole paths a scanning kit asks first to learn how the server answers a page that does not
/// exist, before it probes: `/aaa9`, `/aab8`, `/aab9`, with zgrab's agent or a browser's, often
/// beside TLS handshakes on the plain port (seven clients in six held-out sets, all attacking:
/// heldout55, 67, 79, 80, 84, 88); `/ab2g` and `/ab2h`, a cloud-hosted kit's pair, asked a
/// few seconds apart before `/`, `/t4` or `/alive.php` (30 clients in 14 held-out sets, all
/// attacking, four of them asking nothing else: heldout45, 57, 80, 88, 106, 108, 111-113,
/// 116, 118, 120). A mark like Nmap's `/nmaplowercheck`, but matched as the whole path only:
/// an id such as `/items/aab9f3` is no mark.
pub(super) const SCANNER_PATHS: &[&str] = &["/aaa9", "/aab8", "/aab9", "/ab2g", "/ab2h"];

/// How web-server surveys describe themselves (`Netcraft Web Server Survey`,
/// `NetcraftSurveyAgent/1.0`, `Netcraft SSL Server Survey`, a network or internet survey): a
/// census of the server software sites run, reading the front door (`/`, `robots.txt`, the
/// icon) once, which threat-intelligence feeds class as benign and 16 of the 21 labelled survey
/// clients of the held-out sets call benign. Asking for anything else, such an agent is a
/// scanner's (copied into rotating agent lists, it would otherwise pass as a declared crawler).
/// Matched like [`SCANNING_SELF_DESCRIPTION`].
pub(super) const SURVEY_SELF_DESCRIPTION: &str =
    r"(?i)\b(?:server|web|internet|network)[ -]?survey|surveyagent";

/// How internet-wide scanners and measurement projects describe themselves in their user agent
/// (`ModatScanner/1.2`, `TBI-WebScanner`, `pathscan/1.0`, `... excluded from our scans ...`,
/// `censys.io internet census`, `InternetMeasurement/1.0`,
/// `HTTP Banner Detection (https://security.ipip.net)`,
/// `... studies the availability of various services across the internet`,
/// `Cloud mapping experiment. Contact research@pdrlabs.net`): the activity
/// named, not the product, so next month's measurement project is one too. Matched
/// case-insensitively on user agents that do not read as a browser; `research` alone is not
/// one (AI research crawlers and agents say it). Web-server surveys are
/// [`SURVEY_SELF_DESCRIPTION`].
pub(super) const SCANNING_SELF_DESCRIPTION: &str = r"(?i)scan(?:ner|ning|info|s)?(?:\b|_|\d)|\bbanner[ -]?(?:detection|grab)|\binternet[ -]?census\b|measurement|\b(?:cloud|internet|network|ipv4)[ -]?mapping\b|across (?:the )?(?:internet|global)|ipv4 (?:address )?space";

/// Traversal spellings the sec-list lacks: Tomcat's path-parameter bypass (`..;/`), a
/// double-encoded dot pair (raw, and as it reads after one decoding), and a pair with one dot
/// encoded (`.%2e/`, as Apache's nested `.%%32%65/` reads after one decoding).
pub(super) const MORE_TRAVERSAL: &[&str] = &[
    "..;/",
    "%252e%252e",
    "%2e%2e/",
    "%2e%2e\\",
    ".%2e/",
    "%2e./",
];

/// Dotfiles and dot-directories that hold credentials, beyond CrowdSec's sensitive-file list:
/// a request for one is a `sensitive-file` probe wherever it sits in the path. Rule
/// `probing-attack-tools` alerts on one missed request for these (`secret_probe_regex`), which
/// it can only do for a request `probe_class` calls sensitive: `.npmrc` or `.netrc` were not.
pub(super) const CREDENTIAL_DOTFILES: &[&str] = &[
    ".npmrc",
    ".netrc",
    ".pgpass",
    ".pypirc",
    ".my.cnf",
    ".hg",
    ".svn",
    ".git-credentials",
    ".htpasswd",
    ".s3cfg",
    ".docker",
    ".aws",
    ".ssh",
    ".bash_history",
    ".zsh_history",
    ".sh_history",
    ".mysql_history",
    ".psql_history",
];

/// Editors' settings for uploading a site over (S)FTP, kept in the project folder and deployed
/// with it by mistake: Sublime Text's SFTP package writes `sftp-config.json`, Atom's Remote-FTP
/// `.ftpconfig` and remote-sync `.remote-sync.json`, VS Code's ftp-sync `ftp-sync.json`, each
/// with the server's host, user and password (CrowdSec's list has VS Code's
/// `.vscode/sftp.json`). A request for one is a `sensitive-file` probe.
pub(super) const EDITOR_UPLOAD_SETTINGS: &[&str] = &[
    "sftp-config.json",
    ".ftpconfig",
    ".remote-sync.json",
    "ftp-sync.json",
];

/// A source tree's own metadata, beyond the lists: the CI and IDE directories and files a
/// repository carries (GitHub Actions workflows, GitLab and CircleCI pipelines, Travis, a
/// JetBrains project). Deployed with the site they give away its build, its deploy targets and
/// the secrets' names; scanners ask for `/.github/workflows/deploy.yml` as they ask for
/// `/.git/config`. So do an editor's project folder (VS Code's `.vscode`, whose `sftp.json` the
/// lists name) and macOS Finder's `.DS_Store`, which every folder copied from a Mac carries and
/// which lists the folder's file names, the ones no page links. Nothing links to them and static
/// site generators leave dot-files out, so a request for one is a `sensitive-file` probe
/// wherever it sits in the path (names are compared lower-cased).
pub(super) const REPOSITORY_METADATA: &[&str] = &[
    ".github",
    ".gitlab",
    ".gitlab-ci.yml",
    ".circleci",
    ".travis.yml",
    ".idea",
    ".vscode",
    ".ds_store",
];

/// AI coding assistants' files in a source tree: their dot-file project rules (Cursor's
/// `.cursorrules`, Windsurf's, Cline's, Codeium's), their settings folders and files (`.claude`,
/// `.claude.json`, `.cursor`, `.windsurf`, `.gemini`, `.codex`, `.continue`, `.roo`, `.kiro`,
/// `.amazonq`), an MCP client's server list (`.mcp.json`, `claude_desktop_config.json`:
/// commands, tokens and API keys of the tools it runs) and aider's chat history. Deployed with a
/// site they describe its code, its internal services and often their credentials; scanners now
/// ask for them in a row as they ask for `.git/config` (heldout73: `CLAUDE.md`, `.cursorrules`,
/// `.windsurfrules`, `.clinerules`, ... in two seconds). A `sensitive-file` probe like
/// [`REPOSITORY_METADATA`]. Not the instruction files without a dot (`CLAUDE.md`, `GEMINI.md`,
/// `AGENTS.md`, `copilot-instructions.md` outside `.github`): documentation sites publish
/// pages so named (`providers/gemini.md`, a page's `.md` copy for AI agents), and AI agents
/// fetching a stale one meet a 404.
pub(super) const AI_ASSISTANT_FILES: &[&str] = &[
    ".claude",
    ".claude.json",
    ".cursorrules",
    ".cursor",
    ".windsurfrules",
    ".windsurf",
    ".clinerules",
    ".codeiumrules",
    ".gemini",
    ".codex",
    ".continue",
    ".roo",
    ".kiro",
    ".amazonq",
    ".mcp.json",
    "claude_desktop_config.json",
    ".aider.chat.history.md",
    ".aider.input.history",
    ".aider.conf.yml",
];

/// Extensions of server-side code and configuration: files a server runs or keeps to itself,
/// and hands out as plain text once renamed. See [`BACKUP_SUFFIXES`].
pub(super) const SOURCE_EXTENSIONS: &[&str] = &[
    "php",
    "php3",
    "php4",
    "php5",
    "php7",
    "phtml",
    "inc",
    "asp",
    "aspx",
    "ascx",
    "jsp",
    "jspx",
    "py",
    "rb",
    "pl",
    "cgi",
    "sh",
    "conf",
    "config",
    "cfg",
    "ini",
    "env",
    "yml",
    "yaml",
    "properties",
    "json",
    "xml",
    "sql",
    "htaccess",
    "htpasswd",
];

/// Suffixes editors, admins and deploy scripts append to a file they copy or replace
/// (`wp-config.php.bak`, `config.inc.php.old`, `settings.py~`, vim's `.index.php.swp`, wget's
/// second download `index.php.1`): a backup of server-side code or configuration (CWE-530) is
/// served as text, passwords included, so scanners try a handful of suffixes on the config
/// file of each CMS. No page links to one; a request for `<name>.<source extension><suffix>` is
/// a `sensitive-file` probe, and so is one with `_` or `-` before the suffix
/// (`wp-config.php_orig`, `wp-config.php-original`: hunters' word lists try them all). `~` is
/// matched on its own (no separator).
pub(super) const BACKUP_SUFFIXES: &[&str] = &[
    "bak", "bkp", "back", "backup", "old", "orig", "original", "save", "sav", "swp", "swo", "tmp",
    "temp", "copy", "new", "good", "disabled", "prev", "1",
];

/// Configuration files' names that hunters copy with a backup suffix in place of the
/// extension (`wp-config.bak`, `configuration.old`): a CMS's or framework's settings with
/// database and mail passwords. With [`BACKUP_SUFFIXES`] after a dot, a backup wherever it
/// sits (after `-` or `_` they are pages: `/account/settings-new`, `/kb/config-backup`).
pub(super) const CONFIG_NAMES: &[&str] = &[
    "wp-config",
    "configuration",
    "config",
    "settings",
    "local_settings",
    "localsettings",
    "database",
    "parameters",
];

/// Names scanners give a whole-site or database backup they hope to download (`backup.zip`,
/// `www.tar.gz`, `db.sql`): with [`ARCHIVE_EXTENSIONS`], a backup wherever it sits. Only names
/// that say backup, dump, database or web root: `data.zip`, `test.tar.gz`, `1.zip`, `site.zip`,
/// `html.zip` or `archive.zip` are what download pages, code forges (a branch named `test`) and
/// forum attachments serve every day.
pub(super) const DUMP_NAMES: &[&str] = &[
    "backup",
    "backups",
    "bak",
    "dump",
    "db",
    "database",
    "www",
    "wwwroot",
    "public_html",
    "htdocs",
    "sql",
    "mysql",
    "localhost",
];

/// Archive and dump extensions, the whole part after the name's first dot (`tar.gz`, `sql.zip`).
pub(super) const ARCHIVE_EXTENSIONS: &[&str] = &[
    "zip", "tar", "tgz", "tar.gz", "tar.bz2", "tar.xz", "tar.zst", "gz", "bz2", "xz", "rar", "7z",
    "sql", "sql.gz", "sql.zip", "sql.bz2", "sql.xz", "sql.7z",
];
