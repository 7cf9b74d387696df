//! The webhook destination: one signed POST per alert.

use gatewatch_model::Record;

use super::encoder::{body, sign};
use crate::http::HttpPoster;
use crate::spool::Spooled;
use crate::spooled::{Destination, SendError};

/// The webhook destination.
pub struct WebhookDestination {
    url: String,
    secret: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
    http: HttpPoster,
}

impl WebhookDestination {
    /// Posts to `url`, signing with `secret` when given and adding `headers`.
    pub fn new(
        url: String,
        secret: Option<Vec<u8>>,
        headers: Vec<(String, String)>,
        http: HttpPoster,
    ) -> Self {
        WebhookDestination {
            url,
            secret,
            headers,
            http,
        }
    }
}

impl Destination for WebhookDestination {
    fn batch_max(&self) -> usize {
        1
    }

    async fn send(&mut self, records: &[Spooled]) -> Result<(), SendError> {
        for r in records {
            let Record::Alert(alert) = &r.record else {
                continue;
            };
            let body = body(alert);
            let ts = crate::spool::now_ms() / 1000;
            let mut headers = self.headers.clone();
            headers.push(("idempotency-key".into(), alert.id.clone()));
            headers.push(("x-gatewatch-timestamp".into(), ts.to_string()));
            if let Some(secret) = &self.secret {
                headers.push(("x-gatewatch-signature".into(), sign(secret, ts, &body)));
            }
            self.http.post(&self.url, &headers, body).await?;
        }
        Ok(())
    }
}
