//! The scheduler: runs every planned actor on its own random stream and streams their
//! requests in log (emission) order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::scenario::{plan, Actor, Cx};
use crate::{GenConfig, Request, Rng};

/// One planned actor while it runs.
#[derive(Debug)]
struct ActorState {
    actor: &'static dyn Actor,
    rng: Rng,
    next_ms: i64,
    end_ms: i64,
    rate: f64,
    step: u64,
}

/// Streams generated requests in log (emission) order.
pub struct Generator {
    cfg: GenConfig,
    actors: Vec<ActorState>,
    heap: BinaryHeap<Reverse<(i64, u64, usize)>>,
    pending: Vec<Option<Request>>,
    seq: u64,
    jitter: Rng,
    users: usize,
}

impl Generator {
    /// A generator for `cfg`.
    pub fn new(cfg: GenConfig) -> Self {
        let mut root = Rng::new(cfg.seed);
        let jitter = root.fork(0x717);
        let users = ((cfg.benign_rate * 2.0) as usize).clamp(200, 200_000);
        let mut g = Generator {
            actors: Vec::new(),
            heap: BinaryHeap::new(),
            pending: Vec::new(),
            seq: 0,
            jitter,
            users,
            cfg: cfg.clone(),
        };
        for (i, p) in plan(&cfg).into_iter().enumerate() {
            if p.rate <= 0.0 {
                continue;
            }
            let mut rng = root.fork(i as u64 + 1);
            let wait = rng.exp_ms(p.rate).min(p.end_ms - p.start_ms);
            let first = if p.actor.starts_at_window() {
                p.start_ms
            } else {
                p.start_ms + wait
            };
            g.actors.push(ActorState {
                actor: p.actor,
                rng,
                next_ms: first,
                end_ms: p.end_ms,
                rate: p.rate,
                step: 0,
            });
        }
        for i in 0..g.actors.len() {
            g.schedule(i);
        }
        g
    }

    fn schedule(&mut self, i: usize) {
        while self.pending.len() <= i {
            self.pending.push(None);
        }
        let a = &mut self.actors[i];
        if a.next_ms >= a.end_ms {
            return;
        }
        let t = a.next_ms;
        let req = emit(a, t, &mut self.seq, self.users);
        a.next_ms = if a.actor.periodic() {
            // A timer: the period plus up to 1% of scheduling noise.
            let period = 1000.0 / a.rate;
            t + (period * (1.0 + 0.01 * a.rng.unit())) as i64
        } else {
            t + a.rng.exp_ms(a.rate)
        };
        let emit_at = if self.cfg.jitter_ms > 0 {
            t + self.jitter.below(self.cfg.jitter_ms as u64 + 1) as i64
        } else {
            t
        };
        self.heap.push(Reverse((emit_at, req.seq, i)));
        self.pending[i] = Some(req);
    }
}

impl Iterator for Generator {
    type Item = Request;
    fn next(&mut self) -> Option<Request> {
        let Reverse((_, _, i)) = self.heap.pop()?;
        let req = self.pending[i].take();
        self.schedule(i);
        req
    }
}

/// The actor's next request at event time `t`: the common part (size and latency are drawn
/// first), then what the actor sends.
fn emit(a: &mut ActorState, t: i64, seq: &mut u64, users: usize) -> Request {
    *seq += 1;
    a.step += 1;
    let response_bytes = 200 + a.rng.below(4000) as u32;
    let latency_ms = 5 + a.rng.below(120) as u32;
    let mut cx = Cx {
        rng: &mut a.rng,
        step: a.step,
        rate: &mut a.rate,
        users,
        consumer: None,
        ai: None,
        body_bytes: None,
    };
    let f = a.actor.request(&mut cx);
    Request {
        t_ms: t,
        seq: *seq,
        ip: f.ip,
        method: f.method,
        path: f.path,
        status: f.status,
        user_agent: f.user_agent,
        username: f.username,
        consumer: cx.consumer,
        response_bytes: if let Some(b) = cx.body_bytes {
            b
        } else if f.status >= 400 {
            60 + (response_bytes % 80)
        } else {
            response_bytes
        },
        latency_ms,
        service: f.service,
        ai: cx.ai,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;

    fn lines(cfg: &GenConfig) -> Vec<String> {
        Generator::new(cfg.clone())
            .map(|r| {
                let mut s = String::new();
                write_kong_line(&r, &mut s);
                s
            })
            .collect()
    }

    #[test]
    fn same_seed_same_bytes_other_seed_other_bytes() {
        let cfg = GenConfig {
            duration_ms: 60_000,
            ..Default::default()
        };
        assert_eq!(lines(&cfg), lines(&cfg));
        assert_ne!(lines(&cfg), lines(&GenConfig { seed: 7, ..cfg }));
    }

    #[test]
    fn event_times_are_ordered_without_jitter_and_within_bounds() {
        let cfg = GenConfig {
            duration_ms: 120_000,
            ..Default::default()
        };
        let reqs: Vec<_> = Generator::new(cfg.clone()).collect();
        assert!(reqs.len() > 5000);
        assert!(reqs.windows(2).all(|w| w[0].t_ms <= w[1].t_ms));
        assert!(reqs
            .iter()
            .all(|r| r.t_ms >= cfg.start_ms && r.t_ms < cfg.start_ms + cfg.duration_ms));
    }

    #[test]
    fn scenarios_are_present_and_labelled() {
        let cfg = GenConfig {
            duration_ms: 20 * 60_000,
            benign_rate: 5.0,
            ..Default::default()
        };
        let reqs: Vec<_> = Generator::new(cfg.clone()).collect();
        let from = |ip: &str| reqs.iter().filter(|r| r.ip == ip).count();
        assert!(from(STUFFER_IP) > 500);
        assert!(from(WALKER_IP) > 300);
        assert!(from(SHADOW_IP) > 30);
        let low_slow = reqs.iter().filter(|r| r.user_agent == LOW_SLOW_UA).count();
        assert!(low_slow > 500);
        let l = labels(&cfg);
        // 21 attack labels: each scenario's, machine-regular also labels ua-spoofing,
        // shadow-api also zombie-api.
        assert_eq!(l.iter().filter(|l| l.attack).count(), 21);
        for (ip, n) in [
            (SPRAY_IP, 50),
            (ATO_IP, 14),
            (DISCOVERY_IP, 100),
            (REGULAR_IP, 300),
            (PROBER_IP, 30),
            (BULK_IP, 1000),
            (CACHE_FLOODER_IP, 50),
            (FORM_GUESSER_IP, 200),
            (FORM_ROTATOR_IP, 100),
            (INSTALL_SCANNER_IP, 10),
            (CRAWLER_IP, 60),
        ] {
            assert!(from(ip) > n, "{ip}: {}", from(ip));
        }
        // The product probers ask once each.
        for ip in TECH_PROBE_IPS {
            assert_eq!(from(ip), 1, "{ip}");
        }
        assert!(reqs
            .iter()
            .any(|r| r.ai.is_some_and(|a| a.prompt_tokens > 3000)));
        assert!(l.iter().any(|l| !l.attack && l.entities == [NAT_IP]));
        let none = GenConfig {
            scenarios: vec![],
            ..cfg
        };
        assert!(Generator::new(none).all(|r| r.ip != STUFFER_IP));
    }
}
