//! The built-in detection pack, embedded in the binary so an installed `gatewatch` works
//! anywhere. The files live in `rules/pack/`, one rule per file.

/// (file name, text) of every built-in rule.
pub const BUILTIN: &[(&str, &str)] = &[(
    "credential-stuffing-single-source.toml",
    include_str!("../pack/credential-stuffing-single-source.toml"),
)];
