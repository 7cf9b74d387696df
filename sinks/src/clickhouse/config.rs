//! `[clickhouse]`: where the tables live and how to log in.

use std::time::Duration;

use clickhouse::Client;
use serde::Deserialize;

use super::service::ClickHouseDestination;
use crate::config::{secret, DeliveryConfig, DestinationConfig, Secret};
use crate::route::Route;

/// `[clickhouse]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClickHouseConfig {
    /// `http://[user[:password]@]host:port/database`.
    pub url: Secret,
    /// User (instead of in the URL).
    pub user: Option<String>,
    /// Password (instead of in the URL).
    pub password: Option<Secret>,
    /// Environment variable holding the password.
    pub password_env: Option<String>,
    /// Rows per insert at most (default 10000).
    pub batch_rows: Option<usize>,
    /// How long a partial batch may wait for more rows (default `1s`).
    #[serde(default, with = "gatewatch_model::duration::option")]
    pub batch_linger: Option<Duration>,
    /// Store per-minute traffic statistics and the API inventory (default true).
    pub traffic_stats: Option<bool>,
    /// Which alerts are stored (default: all).
    #[serde(default)]
    pub route: Route,
    /// Delivery settings.
    #[serde(default)]
    pub delivery: DeliveryConfig,
}

impl ClickHouseConfig {
    /// Where to connect: the URL, with `user` and the password (inline or from the
    /// environment) overriding what the URL says.
    pub fn target(&self) -> Result<ClickHouseTarget, String> {
        let mut target = ClickHouseTarget::parse(&self.url.0)?;
        if let Some(u) = &self.user {
            target.user = Some(u.clone());
        }
        if let Some(p) = secret(&self.password, &self.password_env, "password")? {
            target.password = Some(p);
        }
        Ok(target)
    }
}

impl DestinationConfig for ClickHouseConfig {
    type Destination = ClickHouseDestination;
    const KIND: &'static str = "clickhouse";

    fn route(&self) -> Route {
        self.route.clone()
    }

    fn delivery(&self) -> (&DeliveryConfig, Option<f64>) {
        (&self.delivery, None)
    }

    fn build(&self, _timeout: Duration) -> Result<ClickHouseDestination, String> {
        Ok(ClickHouseDestination::new(
            self.target()?,
            self.batch_rows.unwrap_or(10_000),
            self.batch_linger.unwrap_or(Duration::from_secs(1)),
            self.traffic_stats.unwrap_or(true),
        ))
    }

    fn health_check(&self, wait: Duration) -> Result<(), String> {
        super::health::probe(&self.target()?, wait)
    }
}

/// Where and how to connect.
#[derive(Clone)]
pub struct ClickHouseTarget {
    /// `http(s)://host:port` without credentials or path.
    pub endpoint: String,
    /// Database (created if missing).
    pub database: String,
    /// User, if not `default`.
    pub user: Option<String>,
    /// Password (a secret: never logged).
    pub password: Option<String>,
}

impl std::fmt::Debug for ClickHouseTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClickHouseTarget")
            .field("endpoint", &self.endpoint)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .finish()
    }
}

impl ClickHouseTarget {
    /// Parses `http://[user[:password]@]host:port[/database]` (database `gatewatch` if none).
    pub fn parse(url: &str) -> Result<ClickHouseTarget, String> {
        let (scheme, rest) = url
            .split_once("://")
            .filter(|(s, _)| *s == "http" || *s == "https")
            .ok_or_else(|| {
                "expected http://HOST:PORT/DATABASE (or https://), e.g. http://127.0.0.1:8123/gatewatch".to_owned()
            })?;
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let (creds, host) = match authority.rsplit_once('@') {
            Some((c, h)) => (Some(c), h),
            None => (None, authority),
        };
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        let (user, password) = match creds {
            Some(c) => match c.split_once(':') {
                Some((u, p)) => (Some(u.to_owned()), Some(p.to_owned())),
                None => (Some(c.to_owned()), None),
            },
            None => (None, None),
        };
        let database = path.trim_matches('/');
        let database = if database.is_empty() {
            "gatewatch"
        } else {
            database
        };
        if !database
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            return Err(format!(
                "database name {database:?}: use letters, digits and _"
            ));
        }
        Ok(ClickHouseTarget {
            endpoint: format!("{scheme}://{host}"),
            database: database.to_owned(),
            user,
            password,
        })
    }

    pub(super) fn client(&self) -> Client {
        let mut c = Client::default()
            .with_url(&self.endpoint)
            // Old servers do not know the settings the client's validation queries use.
            .with_validation(false);
        if let Some(u) = &self.user {
            c = c.with_user(u);
        }
        if let Some(p) = &self.password {
            c = c.with_password(p);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_urls_without_leaking_the_password() {
        let t = ClickHouseTarget::parse("http://soc:s3cret@127.0.0.1:8123/sec").expect("parse");
        assert_eq!(t.endpoint, "http://127.0.0.1:8123");
        assert_eq!(t.database, "sec");
        assert_eq!(t.user.as_deref(), Some("soc"));
        assert!(!format!("{t:?}").contains("s3cret"));
        assert_eq!(
            ClickHouseTarget::parse("http://h:1")
                .expect("parse")
                .database,
            "gatewatch"
        );
        assert!(ClickHouseTarget::parse("h:1").is_err());
        assert!(ClickHouseTarget::parse("http://h:1/a-b").is_err());
    }
}
