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
            // A redirect is never followed: a POST would turn into a GET without its body
            // (and carry the signature headers elsewhere). It is a failed delivery instead.
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .connect_timeout(timeout)
            .user_agent(concat!("gatewatch/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(HttpPoster { client, timeout })
    }

    /// POSTs `body` to `url`. 2xx is success; 3xx (never followed), 408, 429, 5xx and
    /// transport errors are worth retrying (a moved endpoint may be fixed; the spool gives up
    /// after `give_up_after` with the reason); other 4xx mean the request itself is wrong and
    /// are not. Errors never contain the URL, which is a secret for Slack and some webhooks.
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
        if status.is_redirection() {
            let target = resp
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(redact_location)
                .unwrap_or_else(|| "no Location".into());
            return Err(SendError::retry(format!(
                "HTTP {status}: redirect to {target} not followed (update the destination URL)"
            )));
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

/// A redirect target for logs: scheme, host and path only (query strings may carry tokens).
fn redact_location(location: &str) -> String {
    let base = location.split(['?', '#']).next().unwrap_or_default();
    crate::bound::truncate(base, 200)
}
