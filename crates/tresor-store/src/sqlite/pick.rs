//! GetSecretValue's read on SQLite: the secret, its labelled versions and the picked sealed
//! value in one pass over the versions' rows (PostgreSQL reads the value by a second lookup,
//! see [`crate::sql::secrets::load_picked`]).

use crate::sql::secrets::{secret_row, version_columns, version_from_row};
use crate::sql::{params, sql, Db, Sql};
use crate::{Result, SealedValue, SecretKey, SecretRecord, StoreError, VersionPick};

/// A secret's labelled versions, from their rows, with the sealed value of those whose labels
/// may hold the stage `?2` (as JSON text). Columns: the version's (0..=6), its row id (7), the
/// value or NULL (8).
pub(super) const PICK_BY_STAGE: Sql<'static> = sql!(concat!(
    "SELECT ",
    version_columns!(),
    ", rowid, CASE WHEN instr(stages_json, $2) > 0 THEN envelope END \
     FROM secret_versions INDEXED BY secret_versions_labelled_rows \
     WHERE secret_id = $1 AND stages_json <> '[]' ORDER BY seq"
));

/// A secret's labelled versions and the version `?2` (labelled or not), with the sealed value
/// of that one. Columns as [`PICK_BY_STAGE`], then `seq` (9).
pub(super) const PICK_BY_VERSION: Sql<'static> = sql!(concat!(
    "SELECT ",
    version_columns!(),
    ", rowid, CASE WHEN version_id = $2 THEN envelope END, seq \
     FROM secret_versions INDEXED BY secret_versions_labelled_rows \
     WHERE secret_id = $1 AND stages_json <> '[]' \
     UNION ALL SELECT ",
    version_columns!(),
    ", rowid, envelope, seq FROM secret_versions \
     WHERE secret_id = $1 AND version_id = $2 AND stages_json = '[]' \
     ORDER BY 10"
));

/// The secret `key` names with its labelled versions (and `pick.version_id`), and the sealed
/// value of the version `pick` picks: GetSecretValue's one read, on a SQLite connection.
///
/// The versions come from their rows, found through `secret_versions_labelled_rows`, whose
/// entries are only the keys (so its interior levels stay small enough to be cached), and the
/// picked value comes from the row that holds its metadata. The statement selects a value
/// only where the pick may match (for a stage, where its JSON text occurs in the labels), so
/// the others, which may overflow onto pages of their own, are not read; the pick itself is
/// decided here, on the parsed labels.
pub(crate) fn load_picked(
    db: &mut dyn Db,
    key: SecretKey<'_>,
    pick: VersionPick<'_>,
) -> Result<Option<(SecretRecord, Option<SealedValue>)>> {
    let Some((id, mut record)) = secret_row(db, key, false)? else {
        return Ok(None);
    };
    let (sql, filter) = match pick.version_id {
        None => {
            let stage = pick.stage.unwrap_or(VersionPick::CURRENT);
            let stage_json = serde_json::to_string(stage)
                .map_err(|_| StoreError::Backend("cannot encode a staging label".to_owned()))?;
            (PICK_BY_STAGE, stage_json)
        }
        Some(version_id) => (PICK_BY_VERSION, version_id.to_owned()),
    };
    let mut picked: Option<SealedValue> = None;
    // A version the labels pick whose value the statement did not select (never, while the
    // JSON text of a label is what `stages_to_json` writes): read by its row id.
    let mut unread: Option<(String, i64)> = None;
    db.each(sql, params![id, filter.as_str()], &mut |row| {
        let (_, version) = version_from_row(row)?;
        if picked.is_none() && unread.is_none() && pick.matches(&version) {
            match row.opt_blob(8)? {
                Some(envelope) => {
                    picked = Some(SealedValue {
                        version_id: version.version_id.clone(),
                        envelope,
                    })
                }
                None => unread = Some((version.version_id.clone(), row.int(7)?)),
            }
        }
        record.versions.push(version);
        Ok(())
    })?;
    if let Some((version_id, rowid)) = unread {
        picked = read_envelope_at(db, rowid)?.map(|envelope| SealedValue {
            version_id,
            envelope,
        });
    }
    Ok(Some((record, picked)))
}

/// The sealed value in the version row `rowid` (from [`load_picked`], in the same read
/// transaction): one b-tree lookup, where `read_envelope` makes three (the ARN, the
/// version's key, its row).
fn read_envelope_at(db: &mut dyn Db, rowid: i64) -> Result<Option<Vec<u8>>> {
    db.query_opt(
        sql!("SELECT envelope FROM secret_versions WHERE rowid = $1"),
        params![rowid],
        |row| row.blob(0),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use rusqlite::types::Value;
    use rusqlite::Connection;

    use super::*;
    use crate::sql::secrets::SECRET_BY_NAME;

    /// The plan of `sql` as the store's schema has it.
    fn plan(sql: &str) -> Vec<String> {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn, None).unwrap();
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let unbound = vec![Value::Null; stmt.parameter_count()];
        let plan = stmt
            .query_map(rusqlite::params_from_iter(unbound), |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        plan
    }

    /// A secret by name comes from the index alone, as the store runs the statement.
    #[test]
    fn a_secret_by_name_is_read_from_its_covering_index() {
        assert_eq!(
            plan(SECRET_BY_NAME.lite),
            ["SEARCH secrets USING COVERING INDEX secrets_by_name_whole \
              (account=? AND region=? AND name=?)"]
        );
    }

    /// GetSecretValue's versions come through the short index, in order, without a sort.
    #[test]
    fn the_picked_value_is_read_through_the_short_labelled_index() {
        assert_eq!(
            plan(PICK_BY_STAGE.lite),
            ["SEARCH secret_versions USING INDEX secret_versions_labelled_rows (secret_id=?)"]
        );
        let by_version = plan(PICK_BY_VERSION.lite).join("; ");
        assert!(
            by_version.contains("USING INDEX secret_versions_labelled_rows (secret_id=?)"),
            "{by_version}"
        );
        assert!(
            by_version.contains("USING INDEX sqlite_autoindex_secret_versions_1"),
            "{by_version}"
        );
    }
}
