//! A scraper crawling the catalogue: a new product page three times a second, at irregular
//! gaps (not a timer: `machine-regular`'s other clause does not see it), for forty seconds,
//! with a browser's user agent, no referer and no assets. The generated Kong records carry no
//! referer at all, so the benign shoppers of the background, reading a page every few seconds,
//! are this scenario's hard negatives.

use super::actor::{product_read, strings, Actor, Cx, Fields, Labels, Plan};
use super::agents::BROWSER_UAS;
use super::Def;

/// Address of the crawler.
pub const CRAWLER_IP: &str = "198.51.100.181";

pub(super) const DEF: Def = Def {
    name: "crawl",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&Crawler, p.window(0.35, 40_000, 0.1), 3.0);
}

#[derive(Debug)]
struct Crawler;

impl Actor for Crawler {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        product_read(cx.rng, CRAWLER_IP, BROWSER_UAS[2 % BROWSER_UAS.len()])
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add("crawl", true, "ip", strings(&[CRAWLER_IP]), vec![]);
    }
}
