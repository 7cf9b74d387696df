//! Single-page apps, parked domains and honeypots answer every path with one page: for
//! `technology_unserved`, a success of that page's size says nothing of the technology a path
//! names.

use super::EndpointLearner;
use super::{host_key, EXTENSIONS};

/// A host that answered this many different paths of code (or of products' endpoints) with
/// success and one same size answers everything with one page: a single-page app's
/// `index.html`, a parked domain's, a honeypot's. From then on a success of that size is read as
/// a refusal: the page answered, not what the path names. Compressed and plain copies of the
/// page, or a new deploy's, are sizes of their own and are learned the same way.
pub const CATCH_ALL_PATHS: i64 = 3;

/// Sizes below this are not pages: health checks' `OK`, `1`, `{}` and empty answers are the
/// same size on every host, and count for nothing.
pub const MIN_CATCH_ALL_BYTES: i64 = 256;

/// Path bytes kept in a catch-all key (longer paths are cut: a scanner's paths are short, and
/// a cut path is still one path).
const MAX_PATH: usize = 256;

/// The learner's key prefix of the sizes a host answered with success: under a host and kind, a
/// size's tally of the different paths it answered (at most [`CATCH_ALL_PATHS`] paths are kept
/// under it).
const SIZE: &str = "\u{1}size\u{1}";

/// Whether a success of `bytes` for `path` (naming `technology`) on `host` is the host's one
/// page for everything ([`CATCH_ALL_PATHS`]), learning the sizes as it goes.
pub(super) fn catch_all(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    technology: &str,
    bytes: i64,
    path: &str,
) -> bool {
    use std::fmt::Write;
    host_key(scratch, host, SIZE, technology);
    let _ = write!(scratch, "{bytes}");
    let paths = learner.count(scratch);
    if paths >= CATCH_ALL_PATHS {
        return true;
    }
    // A path this size did not answer before counts once.
    let path = resource(path);
    let size_at = scratch.len();
    scratch.push('\0');
    let mut cut = path.len().min(MAX_PATH);
    while !path.is_char_boundary(cut) {
        cut -= 1;
    }
    // Any case: servers that answer every path with one page ignore it too.
    scratch.extend(path[..cut].chars().map(|c| c.to_ascii_lowercase()));
    if learner.knows(scratch) {
        return false;
    }
    learner.remember(scratch);
    scratch.truncate(size_at);
    learner.tally(scratch) >= CATCH_ALL_PATHS
}

/// The resource `path` names: a script's path info is the script's (`/wp-admin/setup-config.php/
/// wp-json/...` is the installer, answering with its one page whatever follows).
fn resource(path: &str) -> &str {
    let mut end = 0;
    for segment in path.split('/') {
        end += segment.len();
        if end < path.len() {
            let name = segment.split(';').next().unwrap_or(segment);
            if let Some((_, ext)) = name.rsplit_once('.') {
                if EXTENSIONS.iter().any(|(e, _)| e.eq_ignore_ascii_case(ext)) {
                    return &path[..end];
                }
            }
        }
        end += 1;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scripts_path_info_is_the_script() {
        for (path, want) in [
            ("/a.php/x/y", "/a.php"),
            ("/a/b.PHP/", "/a/b.PHP"),
            ("/cgi-bin/x.cgi;a=b/c", "/cgi-bin/x.cgi;a=b"),
            ("/a.php", "/a.php"),
            ("/a.json/x", "/a.json/x"),
            ("/é/x.php/ü", "/é/x.php"),
            ("", ""),
        ] {
            assert_eq!(resource(path), want, "{path}");
        }
    }
}
