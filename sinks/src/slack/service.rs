//! The Slack destination: one incoming-webhook message per alert.

use gatewatch_model::Record;

use super::encoder::message;
use crate::http::HttpPoster;
use crate::spool::Spooled;
use crate::spooled::{Destination, SendError};

/// The Slack destination. The webhook URL is a secret (it carries the token).
pub struct SlackDestination {
    url: String,
    rule_link: Option<String>,
    http: HttpPoster,
}

impl SlackDestination {
    /// Posts to the incoming-webhook `url`. `rule_link`, if given, is a URL template where
    /// `{rule_id}` is replaced (a runbook or the rule's source).
    pub fn new(url: String, rule_link: Option<String>, http: HttpPoster) -> Self {
        SlackDestination {
            url,
            rule_link,
            http,
        }
    }
}

impl Destination for SlackDestination {
    fn batch_max(&self) -> usize {
        1
    }

    async fn send(&mut self, records: &[Spooled]) -> Result<(), SendError> {
        for r in records {
            if let Record::Alert(alert) = &r.record {
                let body = serde_json::to_vec(&message(alert, self.rule_link.as_deref()))
                    .map_err(|e| SendError::permanent(e.to_string()))?;
                self.http.post(&self.url, &[], body).await?;
            }
        }
        Ok(())
    }
}
