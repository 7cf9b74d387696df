//! HTTP delivery shared by the webhook destinations: one POST, its outcome classified.

use std::time::Duration;

use crate::spooled::SendError;

/// Posts JSON bodies with a timeout.
pub struct HttpPoster {
    client: reqwest::Client,
    timeout: Duration,
}

impl HttpPoster {
    /// A client whose requests time out after `timeout` (connect included).
    pub fn new(timeout: Duration) -> Result<HttpPoster, String> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("gatewatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(HttpPoster { client, timeout })
    }

    /// POSTs `body` to `url`. 2xx is success; 408, 429 and 5xx and transport errors are worth
    /// retrying; other 4xx mean the request itself is wrong and are not. Errors never contain
    /// the URL, which is a secret for Slack and some webhooks.
    pub async fn post(
        &self,
        url: &str,
        headers: &[(String, String)],
        body: Vec<u8>,
    ) -> Result<(), SendError> {
        let mut req = self
            .client
            .post(url)
            .header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let resp = match req.body(body).send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Err(SendError::retry(format!(
                    "no answer within {:?}",
                    self.timeout
                )))
            }
            Err(e) => return Err(SendError::retry(e.without_url().to_string())),
        };
        let status = resp.status();
        if status.is_success() {
            return Ok(());
        }
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let text: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect();
        let reason = format!("HTTP {status}: {}", text.trim());
        let code = status.as_u16();
        if code == 408 || code == 429 || status.is_server_error() {
            Err(SendError {
                retryable: true,
                reason,
                retry_after,
            })
        } else {
            Err(SendError::permanent(reason))
        }
    }
}
