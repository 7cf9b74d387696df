//! The traffic sources: the benign background every run has, and the attack scenarios.
//!
//! Adding a scenario: write `scenario/<name>.rs` with its actor(s) and a `pub(super) const DEF:
//! Def` (see `credential_stuffing.rs`), then add one entry to `registry!` below; re-export any
//! public constants (its addresses) from `lib.rs`.

mod actor;
mod agents;
pub(crate) mod background;
pub(crate) mod users;

use std::fmt;
use std::str::FromStr;

use crate::{GenConfig, Label};

pub(crate) use actor::{Actor, Cx, Planned};
use actor::{Labels, Plan};

/// What the registry knows of a scenario.
pub(crate) struct Def {
    /// The scenario's name on the command line and in labels.
    pub name: &'static str,
    /// Adds the scenario's actors to the plan.
    pub plan: fn(&mut Plan<'_>),
}

/// Declares each scenario's module (a file next to this one defining `DEF`) and its
/// [`Scenario`] variant with the variant's doc. The order is that of [`Scenario::ALL`].
macro_rules! registry {
    ($($(#[doc = $doc:literal])+ $variant:ident => $module:ident,)+) => {
        $(pub(crate) mod $module;)+

        /// A labelled attack scenario.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Scenario {
            $($(#[doc = $doc])+ $variant,)+
        }

        const COUNT: usize = [$(stringify!($variant)),+].len();

        impl Scenario {
            /// Every scenario.
            pub const ALL: [Scenario; COUNT] = [$(Scenario::$variant),+];

            fn def(self) -> &'static Def {
                match self {
                    $(Scenario::$variant => &$module::DEF,)+
                }
            }
        }
    };
}

registry! {
    /// One address replaying leaked credentials against the login route.
    CredentialStuffing => credential_stuffing,
    /// Hundreds of addresses, each failing login rarely, sharing one user agent.
    DistributedStuffing => distributed_stuffing,
    /// One address trying one password against many accounts, one or two attempts each.
    PasswordSpray => password_spray,
    /// A burst of failed logins on one account from one address, then a success.
    AccountTakeover => account_takeover,
    /// An AI agent walking `/api/v1/orders/{id}` sequentially, mostly 403/404.
    IdWalking => id_walking,
    /// A client trying many endpoint names that do not exist (404/405).
    EndpointDiscovery => endpoint_discovery,
    /// A scraper on a fixed timer, claiming to be Chrome, never loading static assets.
    MachineRegular => machine_regular,
    /// A declared AI crawler (GPTBot) reading authenticated API routes.
    AiCrawlerApi => ai_crawler_api,
    /// A declared AI crawler (ClaudeBot) on public pages: a policy finding, not an attack.
    AiCrawlerDeclared => ai_crawler_declared,
    /// Traffic to undocumented endpoints and to a deprecated API version.
    ShadowApi => shadow_api,
    /// An AI-gateway consumer whose token spend jumps far above its own baseline.
    AiTokenAbuse => ai_token_abuse,
    /// A scanner requesting `/.env`, `/.git/config`, admin consoles and injection payloads.
    Probing => probing,
    /// A CMS/framework fingerprinting scan and a three-request admin-console probe, both with
    /// browser user agents; and, benign, an app's users downloading the `.sql` it publishes.
    WebScan => web_scan,
    /// A scanner against a single-page app that answers every path with its `index.html`.
    SpaScan => spa_scan,
    /// A cache-busting flood: the home page with a new random query string on every request.
    CacheFlood => cache_flood,
    /// A password-guessing tool on the web login form, answered 200 (the form again) each time.
    FormBruteForce => form_brute_force,
    /// A scanner asking for a shop application's files under each usual install prefix; and,
    /// benign, pages whose relative logo and stylesheet 404 under every section.
    InstallScan => install_scan,
    /// Single requests for products' entry points in server technologies the API does not run;
    /// and, benign, a legacy PHP service's users hitting a report page that is gone.
    TechnologyProbe => technology_probe,
    /// A scraper crawling product pages three times a second without a referer, at irregular
    /// gaps, behind a browser's user agent.
    Crawl => crawl,
}

impl Scenario {
    /// The scenario's name on the command line and in labels.
    pub fn name(self) -> &'static str {
        self.def().name
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Scenario::ALL
            .into_iter()
            .find(|x| x.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Scenario::ALL.iter().map(|x| x.name()).collect();
                format!(
                    "unknown scenario {s:?}: expected one of {}",
                    names.join(", ")
                )
            })
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Where each actor is active; shared by the generator and [`labels`]. The order is part of
/// the output (an actor's random stream is forked by its index): the background first, then
/// the scenarios in the order configured.
pub(crate) fn plan(cfg: &GenConfig) -> Vec<Planned> {
    let mut p = Plan::new(cfg);
    let all = p.all();
    p.add(&users::Benign, all, cfg.benign_rate);
    p.add(&users::Nat, all, 2.0);
    p.add(&users::Office, all, 1.5);
    p.add(&background::HealthCheck, all, 0.1);
    p.add(&users::Mistyper, all, 1.0 / 120.0);
    p.add(&background::Bulk, all, 3.0);
    p.add(&background::Googlebot, all, 0.5);
    p.add(&background::AiSteady, all, 0.2);
    for s in &cfg.scenarios {
        (s.def().plan)(&mut p);
    }
    p.into_actors()
}

/// Ground-truth labels for a configuration: one per attack actor and per hard negative.
pub fn labels(cfg: &GenConfig) -> Vec<Label> {
    let mut out = Vec::new();
    for p in plan(cfg) {
        p.actor
            .label(&mut Labels::new(&mut out, p.start_ms, p.end_ms));
    }
    out
}
