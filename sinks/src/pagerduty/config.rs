//! `[[pagerduty]]`: the routing key, the endpoint and auto-resolve.

use std::time::Duration;

use serde::Deserialize;

use super::encoder::EVENTS_URL;
use super::service::PagerDutyDestination;
use crate::config::{http_url, required, DeliveryConfig, DestinationConfig, Secret};
use crate::http::HttpPoster;
use crate::route::Route;

/// `[[pagerduty]]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// Name in logs and of the spool subdirectory.
    pub name: Option<String>,
    /// Integration (routing) key.
    pub routing_key: Option<Secret>,
    /// Environment variable holding the routing key.
    pub routing_key_env: Option<String>,
    /// Events API URL (default PagerDuty's).
    pub url: Option<String>,
    /// Resolve an entity's incidents after it stopped triggering the rule for this long.
    #[serde(default, with = "gatewatch_model::duration::option")]
    pub resolve_after: Option<Duration>,
    /// Which alerts go here (default: severity high and above).
    #[serde(default)]
    pub route: Option<Route>,
    /// Delivery settings.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

impl DestinationConfig for PagerDutyConfig {
    type Destination = PagerDutyDestination;
    const KIND: &'static str = "pagerduty";

    fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    fn route(&self) -> Route {
        self.route.clone().unwrap_or(Route {
            min_severity: Some("high".into()),
            ..Route::default()
        })
    }

    fn delivery(&self) -> (&DeliveryConfig, Option<f64>) {
        (&self.delivery, None)
    }

    fn build(&self, timeout: Duration) -> Result<PagerDutyDestination, String> {
        let key = required(&self.routing_key, &self.routing_key_env, "routing_key")?;
        let url = http_url(self.url.clone().unwrap_or_else(|| EVENTS_URL.to_owned()))?;
        Ok(PagerDutyDestination::new(
            url,
            key,
            self.resolve_after,
            HttpPoster::new(timeout)?,
        ))
    }
}
