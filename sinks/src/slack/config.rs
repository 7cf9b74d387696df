//! `[[slack]]`: the incoming webhook and the rule link.

use std::time::Duration;

use serde::Deserialize;

use super::service::SlackDestination;
use crate::config::{http_url, required, DeliveryConfig, DestinationConfig, Secret};
use crate::http::HttpPoster;
use crate::route::Route;

/// `[[slack]]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Name in logs and of the spool subdirectory.
    pub name: Option<String>,
    /// Incoming-webhook URL.
    pub url: Option<Secret>,
    /// Environment variable holding the URL.
    pub url_env: Option<String>,
    /// Link template for the rule, `{rule_id}` replaced.
    pub rule_link: Option<String>,
    /// Which alerts go here.
    #[serde(default)]
    pub route: Route,
    /// Delivery settings (default rate 1 message/s, Slack's limit per webhook).
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

impl DestinationConfig for SlackConfig {
    type Destination = SlackDestination;
    const KIND: &'static str = "slack";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn route(&self) -> Route {
        self.route.clone()
    }

    fn delivery(&self) -> (&DeliveryConfig, Option<f64>) {
        (&self.delivery, Some(1.0))
    }

    fn build(&self, timeout: Duration) -> Result<SlackDestination, String> {
        let url = required(&self.url, &self.url_env, "url").and_then(http_url)?;
        Ok(SlackDestination::new(
            url,
            self.rule_link.clone(),
            HttpPoster::new(timeout)?,
        ))
    }
}
