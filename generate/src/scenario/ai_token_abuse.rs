//! AI token abuse: an AI-gateway consumer whose token spend jumps far above its own baseline.

use super::actor::{strings, Actor, Cx, Fields, Labels, Plan};
use super::Def;

/// AI-gateway consumer whose spend spikes.
pub const AI_ABUSER: &str = "team-analytics";
const AI_ABUSER_IP: &str = "10.20.0.9";

pub(super) const DEF: Def = Def {
    name: "ai-token-abuse",
    plan,
};

fn plan(p: &mut Plan<'_>) {
    p.add(&AiBaseline, p.all(), 0.05);
    p.add(&AiSpike, p.window(0.55, 4 * 60_000, 0.2), 1.5);
}

/// The consumer's usual use over the whole run (the baseline the spike stands out from).
#[derive(Debug)]
struct AiBaseline;

impl Actor for AiBaseline {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        cx.ai_call(AI_ABUSER, AI_ABUSER_IP, 600, 300)
    }
}

/// The spike: more calls, ten times the tokens each.
#[derive(Debug)]
struct AiSpike;

impl Actor for AiSpike {
    fn request(&self, cx: &mut Cx<'_>) -> Fields {
        cx.ai_call(AI_ABUSER, AI_ABUSER_IP, 6_000, 2_500)
    }

    fn label(&self, l: &mut Labels<'_>) {
        l.add(
            "ai-token-abuse",
            true,
            "consumer",
            strings(&[AI_ABUSER]),
            strings(&[AI_ABUSER_IP]),
        );
    }
}
