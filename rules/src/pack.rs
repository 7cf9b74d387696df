//! The built-in detection pack, embedded in the binary so an installed `gatewatch` works
//! anywhere. The files live in `rules/pack/`, one rule per file.

/// (file name, text) of every built-in rule.
pub const BUILTIN: &[(&str, &str)] = &[
    ("ai-crawler-declared.toml", include_str!("../pack/ai-crawler-declared.toml")),
    ("ai-crawler-on-api.toml", include_str!("../pack/ai-crawler-on-api.toml")),
    ("ai-gateway-token-spike.toml", include_str!("../pack/ai-gateway-token-spike.toml")),
    ("bola-id-walking.toml", include_str!("../pack/bola-id-walking.toml")),
    ("browser-ua-automation.toml", include_str!("../pack/browser-ua-automation.toml")),
    ("credential-stuffing-distributed.toml", include_str!("../pack/credential-stuffing-distributed.toml")),
    ("credential-stuffing-single-source.toml", include_str!("../pack/credential-stuffing-single-source.toml")),
    ("endpoint-discovery.toml", include_str!("../pack/endpoint-discovery.toml")),
    ("login-success-after-failures.toml", include_str!("../pack/login-success-after-failures.toml")),
    ("machine-regular-client.toml", include_str!("../pack/machine-regular-client.toml")),
    ("new-api-endpoint.toml", include_str!("../pack/new-api-endpoint.toml")),
    ("password-spray.toml", include_str!("../pack/password-spray.toml")),
    ("probing-attack-tools.toml", include_str!("../pack/probing-attack-tools.toml")),
    ("shadow-api-endpoint.toml", include_str!("../pack/shadow-api-endpoint.toml")),
    ("zombie-api-endpoint.toml", include_str!("../pack/zombie-api-endpoint.toml")),
];
