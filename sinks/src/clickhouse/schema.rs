//! The shipped schema: `deploy/clickhouse/NNN_name.sql`, in order, for modern or legacy
//! servers.

/// The shipped migrations, in order.
pub const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "alerts",
        include_str!("../../../deploy/clickhouse/001_alerts.sql"),
    ),
    (
        2,
        "entity_stats",
        include_str!("../../../deploy/clickhouse/002_entity_stats.sql"),
    ),
    (
        3,
        "api_inventory",
        include_str!("../../../deploy/clickhouse/003_api_inventory.sql"),
    ),
];

/// Which dialect of the schema a server gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchemaPath {
    /// `LowCardinality` and `TTL` (ClickHouse 21.8 and later).
    Modern,
    /// The common subset for old servers.
    Legacy,
}

impl SchemaPath {
    /// The path for a server reporting `version` (e.g. `18.16.1`, `24.8.4.13`).
    pub fn for_version(version: &str) -> SchemaPath {
        let mut it = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
        let (major, minor) = (it.next().unwrap_or(0), it.next().unwrap_or(0));
        if (major, minor) >= (21, 8) {
            SchemaPath::Modern
        } else {
            SchemaPath::Legacy
        }
    }
}

/// The statements of a migration file for a schema path: comments dropped, split on `;`.
pub fn statements(sql: &str, path: SchemaPath) -> Vec<String> {
    let mut text = String::new();
    for line in sql.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("--") {
            continue;
        }
        if path == SchemaPath::Legacy && trimmed.starts_with("TTL ") {
            if trimmed.trim_end().ends_with(';') {
                text.push_str(";\n");
            }
            continue;
        }
        text.push_str(line);
        text.push('\n');
    }
    if path == SchemaPath::Legacy {
        text = text.replace("LowCardinality(String)", "String");
    }
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_path_drops_ttl_and_low_cardinality() {
        assert_eq!(SchemaPath::for_version("18.16.1"), SchemaPath::Legacy);
        assert_eq!(SchemaPath::for_version("24.8.4.13"), SchemaPath::Modern);
        assert_eq!(SchemaPath::for_version("21.8.1"), SchemaPath::Modern);
        for (_, _, sql) in MIGRATIONS {
            let legacy = statements(sql, SchemaPath::Legacy).join(";");
            assert!(!legacy.contains("LowCardinality") && !legacy.contains("TTL"));
            let modern = statements(sql, SchemaPath::Modern);
            assert_eq!(modern.len(), statements(sql, SchemaPath::Legacy).len());
        }
        let stats = statements(MIGRATIONS[1].2, SchemaPath::Modern).join(";");
        assert!(stats.contains("TTL minute + INTERVAL 30 DAY"));
    }
}
