//! Single-page apps, parked domains and honeypots answer every path with one page: for
//! `technology_unserved`, a success of that page's size says nothing of the technology a path
//! names.

use super::EndpointLearner;
use super::{host_key, key, push_lower, server_technology, MAX_PATH};

/// A host that answered this many different paths of code (or of products' endpoints) with
/// success and one same size answers everything with one page: a single-page app's
/// `index.html`, a parked domain's, a honeypot's. From then on a success of that size is read as
/// a refusal: the page answered, not what the path names. Compressed and plain copies of the
/// page, or a new deploy's, are sizes of their own and are learned the same way.
pub const CATCH_ALL_PATHS: i64 = 3;

/// Sizes below this are not pages: health checks' `OK`, `1` and `{}` are the same few bytes
/// whatever path they answer, and count for nothing but as the technology served in a size of
/// its own ([`learn_small`]). An empty answer (0 bytes) is the exception: a host answering every
/// path with nothing (a honeypot, a catch-all `return 200;`) is learned like a page, and a
/// technology the host also answered with content is served all the same.
pub const MIN_CATCH_ALL_BYTES: i64 = 256;

/// The learner's key prefix of a technology answered on a host with a small non-empty success
/// (below [`MIN_CATCH_ALL_BYTES`]): served in a size of its own, so the host's one page for
/// everything does not stand for it.
const SMALL: &str = "\u{1}small\u{1}";

/// Learns that `technology` was answered on `host` with a small non-empty success: such an
/// answer is the technology's own (a page for everything is larger, or empty). One key per host
/// and technology.
pub(super) fn learn_small(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    technology: &str,
) {
    key(scratch, host, technology);
    scratch.push_str(SMALL);
    learner.remember(scratch);
}

/// The learner's key prefix of the sizes a host answered with success: under a host and kind, a
/// size's tally of the different paths it answered (at most [`CATCH_ALL_PATHS`] paths are kept
/// under it).
const SIZE: &str = "\u{1}size\u{1}";

/// Sizes of successes kept per host and technology: one answered with this many different
/// sizes is served for real, whatever they are.
const SLOTS: i64 = 4;

/// A success within `1 / SAME_PAGE` of a kept size (2%) may be that size: a page that writes
/// the time, a token or a counter into itself changes by a few bytes with every answer (a PHP
/// site answering every path with its home page: 32,637 to 33,009 bytes). Sizes gathered so
/// count as one page for everything only once one path was answered with two of them (the page
/// changes by itself): a site whose few pages share a template and differ by a few bytes of
/// text answers each path with one size, and is a site (see [`Site::one_page`]).
const SAME_PAGE: u64 = 50;

/// The learner's key prefixes of what a kept size's paths showed: one was answered with another
/// size near it (`SPREAD`), one path was answered with two such sizes (`VARIES`).
const SPREAD: &str = "\u{1}spread\u{1}";
const VARIES: &str = "\u{1}varies\u{1}";

/// The learner's key prefixes of a host's home page (`/` with no query, per kind): the
/// smallest and largest size it was answered with (`HOME_LOW`, `HOME_HIGH`), which stay within
/// `1 / SAME_PAGE` of each other: a page that changes by itself, a few bytes longer or shorter
/// each time. A success within that range is the home page; a site whose pages share a
/// template answers each of them with a size of its own, outside the range its home page spans.
const HOME_LOW: &str = "\u{1}homelow\u{1}";
const HOME_HIGH: &str = "\u{1}homehigh\u{1}";

/// The learner's key (per kind, no host) of how many hosts' home pages were learned.
const HOMES: &str = "\u{1}homes\u{1}";

/// Hosts whose home page a task learns, per kind: requests for `/` naming ever new hosts (a
/// virtual-host enumeration: one `Host` name per request) add no keys past it, so they cannot
/// push what the task learned of real hosts out of its bounded learner. A deployment serving
/// more sites learns the home pages of the first ones only (the others' pages are learned
/// from three paths, as without it).
pub const MAX_HOMES: i64 = 1024;

/// Learns a success of `bytes` for the home page of `host` (`marker` names the kind:
/// [`super::HOME_PAGE_PRODUCTS`] or [`super::HOME_PAGE_TECHNOLOGIES`]): the range of its sizes
/// widens to take `bytes` while it stays within `1 / SAME_PAGE`; a size further away (a
/// truncated answer, another page) is left out. Answers below [`MIN_CATCH_ALL_BYTES`] are no
/// page. Two keys per host and kind, for at most [`MAX_HOMES`] hosts.
pub(super) fn learn_home(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    marker: &str,
    bytes: i64,
) {
    if bytes < MIN_CATCH_ALL_BYTES {
        return;
    }
    host_key(scratch, host, HOME_LOW, marker);
    let low = learner.count(scratch);
    if low == 0 {
        host_key(scratch, None, HOMES, marker);
        if learner.count(scratch) >= MAX_HOMES {
            return;
        }
        learner.tally(scratch);
        host_key(scratch, host, HOME_LOW, marker);
        learner.put(scratch, bytes);
        host_key(scratch, host, HOME_HIGH, marker);
        learner.put(scratch, bytes);
        return;
    }
    host_key(scratch, host, HOME_HIGH, marker);
    let high = learner.count(scratch).max(low);
    let (new_low, new_high) = (low.min(bytes), high.max(bytes));
    if new_high - new_low > new_low / SAME_PAGE as i64 {
        return;
    }
    if new_low != low {
        host_key(scratch, host, HOME_LOW, marker);
        learner.set(scratch, new_low);
    }
    if new_high != high {
        host_key(scratch, host, HOME_HIGH, marker);
        learner.set(scratch, new_high);
    }
}

/// The learner's key infix of a technology's kept sizes: slot `i` holds a size, slot `n` how
/// many are kept.
const SLOT: &str = "\u{1}slot\u{1}";

/// Whether a success of `bytes` for `path` (naming `technology`) on `host` is the host's one
/// page for everything ([`CATCH_ALL_PATHS`]) rather than the technology, learning the sizes as
/// it goes: the size answered that many paths, and the technology was never answered with a
/// size that did not (a login page answered in place of every protected page, or a soft 404, on
/// a site that serves the technology in pages of their own sizes is that site's, not one page
/// for everything).
pub(super) fn catch_all(
    learner: &mut EndpointLearner,
    scratch: &mut String,
    host: Option<&str>,
    technology: &str,
    bytes: i64,
    path: &str,
) -> bool {
    let mut site = Site {
        learner,
        scratch,
        host,
        technology,
    };
    // Answered with as many sizes as are kept: served for real, and a busy site's every page
    // adds no key.
    let kept = site.kept();
    if kept >= SLOTS {
        return false;
    }
    let near = site.same_page(bytes, kept);
    let page = near.unwrap_or(bytes);
    if site.page_for_every_path(page, bytes, path) {
        return !site.served_otherwise();
    }
    if near.is_none() {
        site.keep_size(page, kept);
    }
    // The host's home page answered (a size within the range `/` was answered with: see
    // `Site::home_page`), and not for the home page's own script (`/index.php` is the home
    // page).
    !front_door(path) && site.home_page(bytes) && !site.served_otherwise()
}

/// Whether `path` is a site's home page under a script's name (`/index.php`, `/Default.aspx`,
/// `/index.jsp`): the page a host answers `/` with, served for real.
fn front_door(path: &str) -> bool {
    let path = path.strip_prefix('/').unwrap_or(path);
    path.split_once('.').is_some_and(|(name, ext)| {
        (name.eq_ignore_ascii_case("index") || name.eq_ignore_ascii_case("default"))
            && !ext.is_empty()
            && ext.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// One technology on one host, and the learner that remembers what the host answered.
struct Site<'a> {
    learner: &'a mut EndpointLearner,
    /// The key being built (one buffer for a whole batch).
    scratch: &'a mut String,
    host: Option<&'a str>,
    technology: &'a str,
}

impl Site<'_> {
    /// Writes the key of the tally of paths `bytes` answered into the scratch buffer.
    fn size_key(&mut self, bytes: i64) {
        use std::fmt::Write;
        host_key(self.scratch, self.host, SIZE, self.technology);
        let _ = write!(self.scratch, "{bytes}");
    }

    /// Writes the key of the technology's slot `slot` (a number, or `n` for how many are kept)
    /// into the scratch buffer.
    fn slot_key(&mut self, slot: &dyn std::fmt::Display) {
        use std::fmt::Write;
        key(self.scratch, self.host, self.technology);
        self.scratch.push_str(SLOT);
        let _ = write!(self.scratch, "{slot}");
    }

    /// Writes the key of a flag (`SPREAD` or `VARIES`) of the kept size `page` into the scratch
    /// buffer.
    fn flag_key(&mut self, flag: &str, page: i64) {
        use std::fmt::Write;
        host_key(self.scratch, self.host, flag, self.technology);
        let _ = write!(self.scratch, "{page}");
    }

    /// Whether the page `page` (a kept size: `bytes` is this answer's own size) answered
    /// [`CATCH_ALL_PATHS`] different paths on the host (counting `path`) and is one page
    /// ([`Self::one_page`]).
    fn page_for_every_path(&mut self, page: i64, bytes: i64, path: &str) -> bool {
        self.size_key(page);
        let paths = self.learner.count(self.scratch);
        // Once one page, always: no path is added past the tally, and a path answered with two
        // sizes only confirms it. Only a page whose sizes spread waits for such a path.
        if paths >= CATCH_ALL_PATHS && self.one_page(page) {
            return true;
        }
        self.size_key(page);
        // The path's key under the page holds the size it was first answered with.
        let path = resource(path);
        self.scratch.push('\0');
        // Any case: servers that answer every path with one page ignore it too.
        push_lower(self.scratch, path, MAX_PATH);
        // (`value`, not `count`: an empty page's paths hold the size 0.)
        match self.learner.value(self.scratch) {
            // A path this page did not answer before counts once (at most
            // [`CATCH_ALL_PATHS`] are kept).
            None if paths < CATCH_ALL_PATHS => {
                self.learner.put(self.scratch, bytes);
                self.size_key(page);
                self.learner.tally(self.scratch);
                if bytes != page {
                    self.flag_key(SPREAD, page);
                    self.learner.remember(self.scratch);
                }
            }
            None => {}
            Some(first) if first != bytes => {
                self.flag_key(VARIES, page);
                self.learner.remember(self.scratch);
            }
            Some(_) => {}
        }
        self.one_page(page)
    }

    /// Whether the kept size `page` answered [`CATCH_ALL_PATHS`] different paths and is one
    /// page: every answer was that size exactly, or one path was answered with two sizes near
    /// it (a page that changes by itself, not a site's pages of a template).
    fn one_page(&mut self, page: i64) -> bool {
        self.size_key(page);
        if self.learner.count(self.scratch) < CATCH_ALL_PATHS {
            return false;
        }
        self.flag_key(SPREAD, page);
        if !self.learner.knows(self.scratch) {
            return true;
        }
        self.flag_key(VARIES, page);
        self.learner.knows(self.scratch)
    }

    /// Whether `bytes` is a size the host's home page was answered with, or lies between two
    /// of them ([`learn_home`]). For a technology the home page must have changed by itself
    /// (two sizes): a static page answering as `/` does in place of the site's own code is as
    /// often a login wall (every page of a PHP application showing its sign-in form to a user
    /// whose session ended) as a page for everything, and is learned from three paths as
    /// before; a product's endpoint answered with it is a probe either way.
    fn home_page(&mut self, bytes: i64) -> bool {
        host_key(self.scratch, self.host, HOME_LOW, self.technology);
        let low = self.learner.count(self.scratch);
        if low == 0 || bytes < low {
            return false;
        }
        host_key(self.scratch, self.host, HOME_HIGH, self.technology);
        let high = self.learner.count(self.scratch).max(low);
        bytes <= high && (high > low || super::kind(self.technology) == "product")
    }

    /// How many of the technology's sizes on the host are kept.
    fn kept(&mut self) -> i64 {
        self.slot_key(&'n');
        self.learner.count(self.scratch)
    }

    /// The kept size `bytes` is the same page as (within `1 / SAME_PAGE` of it), if any of the
    /// `kept` is: the first size kept stands for the page, so sizes do not drift.
    fn same_page(&mut self, bytes: i64, kept: i64) -> Option<i64> {
        let near = bytes.unsigned_abs() / SAME_PAGE;
        (0..kept).find_map(|slot| {
            self.slot_key(&slot);
            let size = self.learner.count(self.scratch);
            (size.abs_diff(bytes) <= near).then_some(size)
        })
    }

    /// Keeps `bytes`, near none of the `kept` sizes ([`Self::same_page`]), among the
    /// technology's sizes on the host (fewer than [`SLOTS`] are kept).
    fn keep_size(&mut self, bytes: i64, kept: i64) {
        self.slot_key(&kept);
        self.learner.put(self.scratch, bytes);
        self.slot_key(&'n');
        self.learner.tally(self.scratch);
    }

    /// Whether the technology was answered on the host with a size that is not a page for
    /// every path (nor the home page's), with a small one of its own ([`learn_small`]), or with
    /// [`SLOTS`] sizes.
    fn served_otherwise(&mut self) -> bool {
        let kept = self.kept();
        if kept >= SLOTS {
            return true;
        }
        key(self.scratch, self.host, self.technology);
        self.scratch.push_str(SMALL);
        if self.learner.knows(self.scratch) {
            return true;
        }
        (0..kept).any(|slot| {
            self.slot_key(&slot);
            let size = self.learner.count(self.scratch);
            !self.one_page(size) && !self.home_page(size)
        })
    }
}

/// The resource `path` names: a script's path info is the script's (`/wp-admin/setup-config.php/
/// wp-json/...` is the installer, answering with its one page whatever follows).
fn resource(path: &str) -> &str {
    let mut end = 0;
    for segment in path.split('/') {
        end += segment.len();
        if end < path.len() && server_technology(segment).is_some() {
            return &path[..end];
        }
        end += 1;
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_busy_site_adds_no_key_per_page() {
        let mut learner = EndpointLearner::default();
        let mut scratch = String::new();
        let mut page = |learner: &mut EndpointLearner, size: i64, path: &str| {
            catch_all(
                learner,
                &mut scratch,
                Some("blog.example"),
                "php",
                size,
                path,
            )
        };
        for (i, size) in [5000, 6000, 7000, 8000].into_iter().enumerate() {
            assert!(!page(&mut learner, size, &format!("/p{i}.php")));
        }
        let keys = learner.len();
        for i in 0..1000 {
            assert!(!page(&mut learner, 9000 + i, &format!("/post{i}.php")));
        }
        assert_eq!(
            learner.len(),
            keys,
            "four sizes kept: PHP is served, nothing more to learn"
        );
    }

    #[test]
    fn a_page_that_changes_by_a_few_bytes_is_one_page() {
        let mut learner = EndpointLearner::default();
        let mut scratch = String::new();
        let mut page = |learner: &mut EndpointLearner, host: &str, size: i64, path: &str| {
            catch_all(learner, &mut scratch, Some(host), "php", size, path)
        };
        // The home page for every path, a little longer or shorter each time (heldout75's
        // lfphp2): three paths near one size, then one of them answered with another size near
        // it (the page changes by itself), then every size near it.
        let home = "lfphp.example";
        assert!(!page(&mut learner, home, 32868, "/wp-login.php"));
        assert!(!page(&mut learner, home, 32731, "/wordpress/wp-login.php"));
        assert!(!page(&mut learner, home, 32669, "/blog/wp-login.php"));
        assert!(page(&mut learner, home, 32780, "/wp-login.php"));
        assert!(page(&mut learner, home, 33009, "/wp/wp-login.php"));
        assert!(page(&mut learner, home, 32637, "/xmlrpc.php"));
        // A size further than 2% from it is a page of its own.
        assert!(!page(&mut learner, home, 34000, "/index.php"));
        // A site whose pages share a template and differ by a few bytes of text: each path
        // answered with its one size, however often, is a site, not one page.
        let brochure = "brochure.example";
        for _ in 0..2 {
            for (size, path) in [
                (21480, "/index.php"),
                (21712, "/about.php"),
                (21903, "/services.php"),
                (21655, "/contact.php"),
            ] {
                assert!(!page(&mut learner, brochure, size, path), "{path}");
            }
        }
        // A site whose pages differ by more: each is its own page, and three of them serve PHP.
        let site = "shop.example";
        for (size, path) in [(12000, "/a.php"), (12500, "/b.php"), (13000, "/c.php")] {
            assert!(!page(&mut learner, site, size, path), "{path}");
        }
        assert!(!page(&mut learner, site, 12010, "/d.php"));
        // Three pages near one size, but the technology also served a page of another size:
        // served for real.
        let blog = "blog.example";
        assert!(!page(&mut learner, blog, 4500, "/wp-login.php"));
        for path in ["/x.php", "/y.php", "/z.php", "/x.php"] {
            assert!(!page(&mut learner, blog, 78000, path), "{path}");
        }
    }

    #[test]
    fn the_home_pages_size_is_the_page_for_every_path_from_the_start() {
        use crate::functions::technology::{HOME_PAGE_PRODUCTS, HOME_PAGE_TECHNOLOGIES};
        let mut learner = EndpointLearner::default();
        let mut scratch = String::new();
        let mut home = |learner: &mut EndpointLearner, host: &str, marker: &str, size: i64| {
            learn_home(learner, &mut scratch, Some(host), marker, size)
        };
        // A static site answering every path with its home page (heldout89's eeg): Tomcat's
        // manager answered with the home page's size exactly, before any path taught it.
        home(&mut learner, "eeg.example", HOME_PAGE_PRODUCTS, 2112);
        home(&mut learner, "eeg.example", HOME_PAGE_PRODUCTS, 2112);
        let answer = |learner: &mut EndpointLearner, host: &str, what: &str, size, path| {
            catch_all(learner, &mut String::new(), Some(host), what, size, path)
        };
        assert!(answer(
            &mut learner,
            "eeg.example",
            "apache-tomcat-manager",
            2112,
            "/manager/html"
        ));
        assert!(!answer(
            &mut learner,
            "eeg.example",
            "apache-tomcat-manager",
            2150,
            "/manager/html"
        ));
        // Learned per kind: the technologies' call has not seen the home page.
        assert!(!answer(&mut learner, "eeg.example", "php", 2112, "/x.php"));
        // A page that changes by itself (heldout78's lfphp4): between the sizes `/` was
        // answered with, once it was answered with two.
        let lfphp = "lfphp.example";
        home(&mut learner, lfphp, HOME_PAGE_TECHNOLOGIES, 32568);
        assert!(!answer(&mut learner, lfphp, "php", 32833, "/wp-login.php"));
        home(&mut learner, lfphp, HOME_PAGE_TECHNOLOGIES, 32872);
        assert!(answer(&mut learner, lfphp, "php", 32833, "/wp-login.php"));
        assert!(answer(&mut learner, lfphp, "php", 32700, "/admin.php"));
        assert!(!answer(&mut learner, lfphp, "php", 32400, "/news.php"));
        // A size far from the range (a truncated answer, another page) does not widen it.
        home(&mut learner, lfphp, HOME_PAGE_TECHNOLOGIES, 20000);
        assert!(!answer(&mut learner, lfphp, "php", 25000, "/contact.php"));
        // A template site whose home page changes by a few bytes: its pages, each of a size of
        // its own outside that range, are pages (the review's case).
        let brochure = "brochure.example";
        home(&mut learner, brochure, HOME_PAGE_TECHNOLOGIES, 30112);
        home(&mut learner, brochure, HOME_PAGE_TECHNOLOGIES, 30087);
        assert!(!answer(&mut learner, brochure, "php", 30390, "/about.php"));
        assert!(!answer(
            &mut learner,
            brochure,
            "php",
            29870,
            "/contact.php"
        ));
        // A static page answering as `/` does in place of code may be a login wall (the second
        // review's case): learned from three paths, not from the home page.
        let app = "app.example";
        home(&mut learner, app, HOME_PAGE_TECHNOLOGIES, 4811);
        home(&mut learner, app, HOME_PAGE_TECHNOLOGIES, 4811);
        assert!(!answer(&mut learner, app, "php", 4811, "/dashboard.php"));
        assert!(!answer(&mut learner, app, "php", 4811, "/reports.php"));
        // The home page's own script is the home page, served for real (heldout48's owner).
        let shop = "shop.example";
        home(&mut learner, shop, HOME_PAGE_TECHNOLOGIES, 5120);
        assert!(!answer(&mut learner, shop, "php", 5120, "/index.php"));
        assert!(!answer(&mut learner, shop, "php", 5120, "/Default.aspx"));
        // A site that served the technology in a page of its own size keeps it served.
        let blog = "blog.example";
        home(&mut learner, blog, HOME_PAGE_TECHNOLOGIES, 30000);
        assert!(!answer(&mut learner, blog, "php", 4500, "/wp-login.php"));
        assert!(!answer(&mut learner, blog, "php", 30000, "/feed.php"));
        // Small answers are no page, and teach no home page.
        let api = "api.example";
        home(&mut learner, api, HOME_PAGE_PRODUCTS, 2);
        assert!(!answer(
            &mut learner,
            api,
            "apache-tomcat-manager",
            2,
            "/manager/html"
        ));
    }

    #[test]
    fn home_pages_are_learned_for_a_bounded_number_of_hosts() {
        use crate::functions::technology::HOME_PAGE_PRODUCTS;
        let mut learner = EndpointLearner::default();
        let mut scratch = String::new();
        // A virtual-host enumeration: `/` asked under ever new host names.
        for i in 0..MAX_HOMES + 500 {
            let host = format!("v{i}.example");
            learn_home(
                &mut learner,
                &mut scratch,
                Some(&host),
                HOME_PAGE_PRODUCTS,
                612,
            );
        }
        assert_eq!(
            learner.len() as i64,
            2 * MAX_HOMES + 1,
            "two keys a host, one tally"
        );
        let mut answer = |host: &str| {
            catch_all(
                &mut learner,
                &mut scratch,
                Some(host),
                "apache-tomcat-manager",
                612,
                "/manager/html",
            )
        };
        assert!(answer("v0.example"));
        assert!(!answer(&format!("v{}.example", MAX_HOMES + 1)));
    }

    #[test]
    fn front_doors_are_the_home_pages_scripts() {
        for path in ["/index.php", "/Default.aspx", "/index.jsp", "/INDEX.HTML"] {
            assert!(front_door(path), "{path}");
        }
        for path in [
            "/wp-login.php",
            "/blog/index.php",
            "/index.php/x",
            "/index.",
            "/index",
            "",
        ] {
            assert!(!front_door(path), "{path}");
        }
    }

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
