//! Backups (CWE-530): copies of server-side code and configuration, and archives or dumps of a
//! whole site or database. The one definition both `probe_class` (a request for one is a
//! `sensitive-file` probe) and `sensitive-file-exposed` (one answered with a body leaked it)
//! use, through [`backup_copy`].

use super::normalize_path;
use super::words::{
    ARCHIVE_EXTENSIONS, BACKUP_SUFFIXES, CONFIG_NAMES, DUMP_NAMES, SOURCE_EXTENSIONS,
};

/// Whether a request path names a backup, judged by its last segment, decoded and lower-cased:
/// - a copy of server-side code or configuration: `<name>.<source extension>` followed by `~`
///   or a backup suffix after `.`, `_` or `-` (`wp-config.php.bak`, `.settings.py.swp`,
///   `config.inc.php~`, `appsettings.json.old`, `wp-config.php_orig`), or a configuration
///   file's well-known name with its extension swapped for a dotted one (`wp-config.bak`,
///   `settings.old`: [`CONFIG_NAMES`]; `wp-config`, which names no page, after `_` or `-` too:
///   `wp-config_good`; `config-backup` or `settings_new` are pages). A server runs such a file
///   or keeps it to itself; renamed, it hands it out as text, secrets included;
/// - an archive or dump of the site or its database under a name scanners guess (`backup.zip`,
///   `www.tar.gz`, `db.sql`, `dump.sql.gz`): the code, the configuration and the data at once.
///
/// The lists are `SOURCE_EXTENSIONS`, `BACKUP_SUFFIXES`, `DUMP_NAMES` and `ARCHIVE_EXTENSIONS`
/// in `probe/words.rs`.
///
/// ```
/// use gatewatch_rules::functions::backup_copy;
/// assert!(backup_copy("/wp-config.php.bak"));
/// assert!(backup_copy("/app/.settings.py.swp"));
/// assert!(backup_copy("/config.inc.PHP%7e"));
/// assert!(backup_copy("/backup.tar.xz"));
/// assert!(backup_copy("/shop/DB.SQL.GZ"));
/// assert!(backup_copy("/wp-config.php_orig"));
/// assert!(backup_copy("/wp-config-good"));
/// assert!(!backup_copy("/assets/levels.bak"));
/// assert!(!backup_copy("/whats-new"));
/// assert!(!backup_copy("/kb/config-backup"));
/// assert!(!backup_copy("/index.php"));
/// assert!(!backup_copy("/.php.bak"));
/// assert!(!backup_copy("/downloads/gatewatch-1.2.tar.gz"));
/// ```
pub fn backup_copy(path: &str) -> bool {
    let lower = normalize_path(path);
    let last = lower.rsplit('/').next().unwrap_or_default();
    is_source_backup(last) || is_site_dump(last)
}

/// Whether a (lower-cased) last path segment is `<dump name>.<archive extension>`.
pub(super) fn is_site_dump(last: &str) -> bool {
    last.split_once('.')
        .is_some_and(|(name, ext)| DUMP_NAMES.contains(&name) && ARCHIVE_EXTENSIONS.contains(&ext))
}

/// Whether a (lower-cased) last path segment is a copy of server-side code or configuration.
pub(super) fn is_source_backup(last: &str) -> bool {
    if let Some(original) = last.strip_suffix('~') {
        return is_source_name(original) || CONFIG_NAMES.contains(&original);
    }
    strip_backup_suffix(last).is_some_and(|(original, dotted)| {
        is_source_name(original)
            || original == "wp-config"
            || (dotted && CONFIG_NAMES.contains(&original))
    })
}

/// `last` without its backup suffix and the `.`, `_` or `-` before it, and whether that was a
/// dot (`.1`, wget's second download, only after a dot: `page-1` is a page).
fn strip_backup_suffix(last: &str) -> Option<(&str, bool)> {
    let at = last.rfind(['.', '_', '-'])?;
    let (original, suffix) = (last.get(..at)?, last.get(at + 1..)?);
    let dotted = last.as_bytes().get(at) == Some(&b'.');
    (BACKUP_SUFFIXES.contains(&suffix) && (dotted || suffix != "1")).then_some((original, dotted))
}

/// `<stem>.<source extension>`.
fn is_source_name(name: &str) -> bool {
    name.rsplit_once('.')
        .is_some_and(|(stem, ext)| !stem.is_empty() && SOURCE_EXTENSIONS.contains(&ext))
}
