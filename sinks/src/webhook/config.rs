//! `[[webhook]]`: where to post and how to sign.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

use super::service::WebhookDestination;
use crate::config::{http_url, required, secret, DeliveryConfig, DestinationConfig, Secret};
use crate::http::HttpPoster;
use crate::route::Route;

/// `[[webhook]]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Name in logs and of the spool subdirectory (default `webhook`, `webhook-2`, ...).
    pub name: Option<String>,
    /// The URL.
    pub url: Option<Secret>,
    /// Environment variable holding the URL.
    pub url_env: Option<String>,
    /// HMAC-SHA256 key.
    pub secret: Option<Secret>,
    /// Environment variable holding the HMAC key.
    pub secret_env: Option<String>,
    /// Extra headers on every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Which alerts go here.
    #[serde(default)]
    pub route: Route,
    /// Delivery settings.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

impl DestinationConfig for WebhookConfig {
    type Destination = WebhookDestination;
    const KIND: &'static str = "webhook";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn route(&self) -> Route {
        self.route.clone()
    }

    fn delivery(&self) -> (&DeliveryConfig, Option<f64>) {
        (&self.delivery, None)
    }

    fn build(&self, timeout: Duration) -> Result<WebhookDestination, String> {
        let url = required(&self.url, &self.url_env, "url").and_then(http_url)?;
        let key = secret(&self.secret, &self.secret_env, "secret")?;
        let headers = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(WebhookDestination::new(
            url,
            key.map(String::into_bytes),
            headers,
            HttpPoster::new(timeout)?,
        ))
    }
}
