//! What every traffic source implements, and the pieces actors share: the emit context, the
//! request fields, the plan they are scheduled from and the labels they write.

use std::fmt;

use super::agents::AI_CLIENT_UA;
use crate::{AiUsage, GenConfig, Label, Rng};

/// One source of traffic: what it sends and how it is labelled.
pub(crate) trait Actor: fmt::Debug + Sync {
    /// The varying part of the actor's next request. The random draws it makes, and their
    /// order, are what a seed pins: changing them changes the output.
    fn request(&self, cx: &mut Cx<'_>) -> Fields;

    /// Ground truth for the actor (attackers and hard negatives; plain background has none).
    fn label(&self, _labels: &mut Labels<'_>) {}

    /// Requests on a fixed timer (with a little jitter) instead of Poisson arrivals.
    fn periodic(&self) -> bool {
        false
    }

    /// The first request at the start of the actor's window, not after a random wait (with
    /// [`Actor::periodic`]: exactly as many requests as the window holds periods).
    fn starts_at_window(&self) -> bool {
        false
    }
}

/// What an actor sees when it makes a request, and the optional parts it may set.
pub(crate) struct Cx<'a> {
    /// The actor's own random stream.
    pub rng: &'a mut Rng,
    /// 1 for the actor's first request, 2 for the second, ...
    pub step: u64,
    /// The actor's rate (requests per second); it may change it for its next request.
    pub rate: &'a mut f64,
    /// Size of the general user population.
    pub users: usize,
    /// Authenticated Kong consumer of the request.
    pub consumer: Option<String>,
    /// Kong AI Gateway usage of the request.
    pub ai: Option<AiUsage>,
    /// The response body size, when the actor's server answers with a fixed page (a
    /// single-page app's `index.html`); drawn at random otherwise.
    pub body_bytes: Option<u32>,
}

impl Cx<'_> {
    /// An LLM call through the AI gateway by `consumer` from `ip`, with token counts spread
    /// around the given bases (between half and one and a half of them).
    pub fn ai_call(&mut self, consumer: &str, ip: &str, prompt: u32, completion: u32) -> Fields {
        self.consumer = Some(consumer.into());
        let spread = |base: u32, rng: &mut Rng| base / 2 + rng.below(base as u64) as u32;
        self.ai = Some(AiUsage {
            prompt_tokens: spread(prompt, self.rng),
            completion_tokens: spread(completion, self.rng),
        });
        Fields {
            method: "POST",
            path: "/ai/v1/chat/completions".into(),
            status: 200,
            username: None,
            service: "ai-gateway",
            ip: ip.into(),
            user_agent: AI_CLIENT_UA,
        }
    }
}

/// What varies between generated requests (the rest of [`crate::Request`] is common).
pub(crate) struct Fields {
    /// HTTP method.
    pub method: &'static str,
    /// Path with query string.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Login name tried (login requests only).
    pub username: Option<String>,
    /// Kong service name.
    pub service: &'static str,
    /// Client address.
    pub ip: String,
    /// User-Agent.
    pub user_agent: &'static str,
}

impl Fields {
    /// A login attempt as `username` answered with `status`.
    pub fn login(
        status: u16,
        username: impl Into<String>,
        ip: impl Into<String>,
        user_agent: &'static str,
    ) -> Fields {
        Fields {
            method: "POST",
            path: "/api/v1/login".into(),
            status,
            username: Some(username.into()),
            service: "accounts",
            ip: ip.into(),
            user_agent,
        }
    }
}

/// One actor's place in the traffic.
pub(crate) struct Planned {
    /// The actor.
    pub actor: &'static dyn Actor,
    /// Event time it starts, epoch ms.
    pub start_ms: i64,
    /// Event time it stops.
    pub end_ms: i64,
    /// Requests per second.
    pub rate: f64,
}

/// The actors of a configuration, in order, as scenarios add them.
pub(crate) struct Plan<'a> {
    cfg: &'a GenConfig,
    actors: Vec<Planned>,
}

impl<'a> Plan<'a> {
    /// An empty plan for `cfg`.
    pub fn new(cfg: &'a GenConfig) -> Self {
        Plan {
            cfg,
            actors: Vec::new(),
        }
    }

    /// The whole run.
    pub fn all(&self) -> (i64, i64) {
        (self.cfg.start_ms, self.cfg.start_ms + self.cfg.duration_ms)
    }

    /// A window starting at fraction `from` of the run, `len_ms` long but at most fraction
    /// `max_frac` of the run (and at least 1 ms).
    pub fn window(&self, from: f64, len_ms: i64, max_frac: f64) -> (i64, i64) {
        let cfg = self.cfg;
        let start = cfg.start_ms + (cfg.duration_ms as f64 * from) as i64;
        let len = len_ms
            .min((cfg.duration_ms as f64 * max_frac) as i64)
            .max(1);
        (start, start + len)
    }

    /// Adds `actor`, active over `window` at `rate` requests per second.
    pub fn add(&mut self, actor: &'static dyn Actor, window: (i64, i64), rate: f64) {
        self.actors.push(Planned {
            actor,
            start_ms: window.0,
            end_ms: window.1,
            rate,
        });
    }

    /// The actors in the order added.
    pub fn into_actors(self) -> Vec<Planned> {
        self.actors
    }
}

/// Where an actor writes its ground truth (over the time it is active).
pub(crate) struct Labels<'a> {
    out: &'a mut Vec<Label>,
    start_ms: i64,
    end_ms: i64,
}

impl<'a> Labels<'a> {
    /// Labels appended to `out` for an actor active from `start_ms` to `end_ms`.
    pub fn new(out: &'a mut Vec<Label>, start_ms: i64, end_ms: i64) -> Self {
        Labels {
            out,
            start_ms,
            end_ms,
        }
    }

    /// One label: see [`Label`] for the fields.
    pub fn add(
        &mut self,
        scenario: &str,
        attack: bool,
        entity_type: &str,
        entities: Vec<String>,
        related: Vec<String>,
    ) {
        self.out.push(Label {
            scenario: scenario.into(),
            attack,
            entity_type: entity_type.into(),
            entities,
            related,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
        });
    }
}

/// Owned copies of `v`.
pub(crate) fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A product page of the shop's catalogue, `/api/v1/products/1` to `/5000`, drawn from `rng`:
/// what shoppers, crawlers and scrapers read.
pub(super) fn product_page(rng: &mut Rng) -> String {
    format!("/api/v1/products/{}", 1 + rng.below(5000))
}

/// A `GET` of a [`product_page`] answered 200, from `ip` with `user_agent`: a scraper's read.
pub(super) fn product_read(rng: &mut Rng, ip: &str, user_agent: &'static str) -> Fields {
    Fields {
        method: "GET",
        path: product_page(rng),
        status: 200,
        username: None,
        service: "catalog",
        ip: ip.into(),
        user_agent,
    }
}
