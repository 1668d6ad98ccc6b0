//! Where the lake's tables live and what they are called.
//!
//! Owns the naming scheme (`<database>.<table>`, Panther's names without the `panther_`
//! prefix) and the mapping of names to storage locations under the lake root (a local
//! directory or `s3://bucket/prefix`). Must not read or write table data.

use std::fmt;
use std::path::Path;

use bucketwatch_core::LogType;
use std::collections::HashSet;
use url::Url;

use crate::LakeError;

/// A database (a DataFusion schema, a Glue database) of the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Database {
    /// Parsed events, one table per log type, and `classification_failures`.
    Logs,
    /// Events that matched a rule, with the rule and alert columns.
    RuleMatches,
    /// Events on which a rule raised, with `p_rule_error`.
    RuleErrors,
    /// Bookkeeping: which source objects are completely ingested.
    System,
    /// Posture scans: every resource and every policy result of each scan (history).
    CloudSecurity,
}

impl Database {
    pub const DATA: [Database; 3] = [Database::Logs, Database::RuleMatches, Database::RuleErrors];
    pub const ALL: [Database; 5] = [
        Database::Logs,
        Database::RuleMatches,
        Database::RuleErrors,
        Database::System,
        Database::CloudSecurity,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Database::Logs => "logs",
            Database::RuleMatches => "rule_matches",
            Database::RuleErrors => "rule_errors",
            Database::System => "bucketwatch",
            Database::CloudSecurity => "cloudsecurity",
        }
    }
}

/// One table: a database and a table name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableId {
    pub database: Database,
    pub name: String,
}

impl TableId {
    /// The table holding `log_type` in `database`.
    pub fn for_log_type(database: Database, log_type: LogType) -> TableId {
        TableId {
            database,
            name: log_type.table_name().to_string(),
        }
    }

    /// The ingest ledger: one row per completely ingested source object.
    pub fn ledger() -> TableId {
        TableId {
            database: Database::System,
            name: "ingested_objects".to_string(),
        }
    }

    /// `cloudsecurity.resources`: each resource as each scan read it.
    pub fn resources() -> TableId {
        TableId {
            database: Database::CloudSecurity,
            name: "resources".to_string(),
        }
    }

    /// `cloudsecurity.compliance`: each policy result of each scan.
    pub fn compliance() -> TableId {
        TableId {
            database: Database::CloudSecurity,
            name: "compliance".to_string(),
        }
    }

    /// The log type a data table holds, from its name.
    pub fn log_type(&self) -> Option<LogType> {
        LogType::ALL
            .into_iter()
            .find(|t| t.table_name() == self.name)
    }
}

impl fmt::Display for TableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.database.name(), self.name)
    }
}

/// The root under which every table has its own directory, `<root>/<database>/<table>/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LakeLocation {
    root: Url,
}

impl LakeLocation {
    /// `s3://bucket/prefix`, a `file://` URL, or a local directory (created when missing).
    pub fn parse(location: &str) -> Result<LakeLocation, LakeError> {
        let mut root = if location.contains("://") {
            let url = Url::parse(location).map_err(|e| LakeError::Location {
                location: location.to_string(),
                reason: e.to_string(),
            })?;
            if !matches!(url.scheme(), "s3" | "s3a" | "file") {
                return Err(LakeError::Location {
                    location: location.to_string(),
                    reason: format!(
                        "scheme {}:// is not supported; use a local directory or s3://bucket/prefix",
                        url.scheme()
                    ),
                });
            }
            url
        } else {
            let path = Path::new(location);
            std::fs::create_dir_all(path).map_err(|e| LakeError::Location {
                location: location.to_string(),
                reason: format!("cannot create the directory: {e}"),
            })?;
            let absolute = path.canonicalize().map_err(|e| LakeError::Location {
                location: location.to_string(),
                reason: e.to_string(),
            })?;
            Url::from_directory_path(&absolute).map_err(|()| LakeError::Location {
                location: location.to_string(),
                reason: "not an absolute path".to_string(),
            })?
        };
        if !root.path().ends_with('/') {
            let path = format!("{}/", root.path());
            root.set_path(&path);
        }
        Ok(LakeLocation { root })
    }

    pub fn root(&self) -> &Url {
        &self.root
    }

    pub fn is_local(&self) -> bool {
        self.root.scheme() == "file"
    }

    /// The table's directory URL, with a trailing slash.
    pub fn table_url(&self, table: &TableId) -> Url {
        self.root
            .join(&format!("{}/{}/", table.database.name(), table.name))
            .expect("database and table names are URL-safe")
    }

    /// The tables present under the root, found by their `_delta_log` directories (local
    /// lakes); on S3 the caller asks for known names instead.
    pub fn local_tables(&self) -> Vec<TableId> {
        let Ok(root) = self.root.to_file_path() else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let mut seen = HashSet::new();
        for database in Database::ALL {
            let Ok(entries) = std::fs::read_dir(root.join(database.name())) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if entry.path().join("_delta_log").is_dir() && seen.insert((database, name.clone()))
                {
                    found.push(TableId { database, name });
                }
            }
        }
        found.sort();
        found
    }
}

/// Athena DDL that registers `tables` in the Glue catalog as Delta tables (Athena reads the
/// schema and partitions from the Delta log, so no columns are listed). Databases are named
/// `<prefix><database>`.
pub fn athena_ddl(location: &LakeLocation, tables: &[TableId], database_prefix: &str) -> String {
    let mut ddl = String::new();
    let mut databases: Vec<Database> = tables.iter().map(|t| t.database).collect();
    databases.dedup();
    for database in databases {
        ddl.push_str(&format!(
            "CREATE DATABASE IF NOT EXISTS {database_prefix}{};\n",
            database.name()
        ));
    }
    for table in tables {
        let url = location.table_url(table);
        ddl.push_str(&format!(
            "CREATE EXTERNAL TABLE IF NOT EXISTS {database_prefix}{}.{}\nLOCATION '{}'\nTBLPROPERTIES ('table_type' = 'DELTA');\n",
            table.database.name(),
            table.name,
            url.as_str().replacen("s3a://", "s3://", 1)
        ));
    }
    ddl
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_directories_become_file_urls_with_table_paths() {
        let dir = tempfile::tempdir().unwrap();
        let lake = LakeLocation::parse(dir.path().join("lake").to_str().unwrap()).unwrap();
        assert!(lake.is_local());
        let url = lake.table_url(&TableId::for_log_type(
            Database::Logs,
            LogType::S3ServerAccess,
        ));
        assert!(
            url.as_str().ends_with("/lake/logs/aws_s3serveraccess/"),
            "{url}"
        );
    }

    #[test]
    fn s3_locations_keep_their_prefix() {
        let lake = LakeLocation::parse("s3://my-bucket/security/lake").unwrap();
        let url = lake.table_url(&TableId::for_log_type(
            Database::RuleMatches,
            LogType::CloudTrail,
        ));
        assert_eq!(
            url.as_str(),
            "s3://my-bucket/security/lake/rule_matches/aws_cloudtrail/"
        );
    }

    #[test]
    fn other_schemes_are_refused_with_the_reason() {
        let err = LakeLocation::parse("gs://bucket/x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("gs:// is not supported"), "{err}");
    }
}

#[cfg(test)]
mod ddl_tests {
    use super::*;

    #[test]
    fn athena_ddl_names_each_table_by_location() {
        let lake = LakeLocation::parse("s3://sec-lake/bw").unwrap();
        let tables = vec![
            TableId::for_log_type(Database::Logs, LogType::CloudTrail),
            TableId::for_log_type(Database::Logs, LogType::S3ServerAccess),
            TableId::for_log_type(Database::RuleMatches, LogType::CloudTrail),
        ];
        let ddl = athena_ddl(&lake, &tables, "bw_");
        assert_eq!(ddl.matches("CREATE DATABASE").count(), 2, "{ddl}");
        assert!(ddl.contains(
            "CREATE EXTERNAL TABLE IF NOT EXISTS bw_logs.aws_cloudtrail\nLOCATION 's3://sec-lake/bw/logs/aws_cloudtrail/'\nTBLPROPERTIES ('table_type' = 'DELTA');"
        ), "{ddl}");
    }
}
