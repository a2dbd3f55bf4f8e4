//! The audit trail: chained records and checkpoints.
//!
//! Appends run on the writer in one `BEGIN IMMEDIATE` transaction per batch: the head is read,
//! the batch is checked against it, and every row is inserted before the single commit (one WAL
//! fsync under `synchronous=FULL`), so a batch is durable, and continuous with what was there,
//! as a whole or not at all.
//!
//! An append writes `audit_records` only. The lookup indexes are derived data, written later
//! in larger batches by [`index`] (`AuditStore::index_audit`): `audit_lookup` (one row per
//! record with the columns lookups filter on, and their indexes, which lead with the account)
//! and `audit_resources` (one row per distinct resource of a record). The commit a request
//! waits for then dirties the pages at the end of one b-tree instead of a page in each of ten,
//! and a batch of hundreds of records dirties each index's hot pages once. The trail is
//! indexed up to the highest `seq` in `audit_lookup`, with no gaps; a lookup reads the records
//! above it (the tail, a few hundred at most while the writer keeps up) directly, filtering on
//! their own columns, and the rest through the indexes, in one read transaction.

use rusqlite::types::Value;
use rusqlite::{params, params_from_iter, Connection};
use tresor_types::AccountId;

use super::db::Lite;
use super::{millis, SqliteStore};
use crate::sql::audit::{self, record_columns, record_from_row};
use crate::{AuditQuery, AuditRow, AuditStore, CheckpointRow, LostChanges, Result, StoreError};

/// The highest `seq` the lookup indexes hold (0 when none): every record up to it is indexed.
fn indexed_up_to(conn: &Connection) -> Result<i64> {
    Ok(conn
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit_lookup")?
        .query_row([], |row| row.get(0))?)
}

/// Index up to `max` records of the tail, oldest first; how many were indexed.
fn index(conn: &Connection, max: usize) -> Result<usize> {
    let from = indexed_up_to(conn)?;
    let max = i64::try_from(max).unwrap_or(i64::MAX);
    let indexed = conn
        .prepare_cached(
            "INSERT INTO audit_lookup (seq, account, event_time, event_id, event_name,
                 event_source, read_only, username, access_key_id)
             SELECT seq, account, event_time, event_id, event_name, event_source, read_only,
                 username, access_key_id
             FROM audit_records WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )?
        .execute(params![from, max])?;
    if indexed == 0 {
        return Ok(0);
    }
    // `resources_json` is `[[type, name], …]`, as `resources_to_json` wrote it. A record lists
    // a resource once in `audit_resources` however often it names it.
    conn.prepare_cached(
        "INSERT INTO audit_resources (seq, type, name)
         SELECT r.seq, resource.value ->> 0, resource.value ->> 1
         FROM audit_records r, json_each(r.resources_json) resource
         WHERE r.seq > ?1 AND r.seq <= ?2
         ON CONFLICT DO NOTHING",
    )?
    .execute(params![from, indexed_up_to(conn)?])?;
    Ok(indexed)
}

/// Where a lookup reads: the indexed records through `audit_lookup` (alias `l`, joined to the
/// records), or the tail from `audit_records` itself (alias `r`).
#[derive(Clone, Copy)]
enum LookupPart {
    Indexed,
    Tail,
}

/// The `WHERE` conditions of `query` after the account's, with their arguments; `None` when
/// the query can match nothing.
fn conditions(
    part: LookupPart,
    account: &AccountId,
    query: &AuditQuery,
) -> Result<Option<(String, Vec<Value>)>> {
    let (t, by_type, by_name) = match part {
        LookupPart::Indexed => (
            "l",
            " AND l.seq IN (SELECT seq FROM audit_resources WHERE type = ?)",
            " AND l.seq IN (SELECT seq FROM audit_resources WHERE name = ?)",
        ),
        LookupPart::Tail => (
            "r",
            " AND EXISTS (SELECT 1 FROM json_each(r.resources_json) WHERE value ->> 0 = ?)",
            " AND EXISTS (SELECT 1 FROM json_each(r.resources_json) WHERE value ->> 1 = ?)",
        ),
    };
    let mut sql = format!("{t}.account = ?");
    let mut args: Vec<Value> = vec![Value::Text(account.as_str().to_owned())];

    if let Some((attribute, value)) = &query.attribute {
        let condition = match attribute.as_str() {
            "EventId" => format!(" AND {t}.event_id = ?"),
            "EventName" => format!(" AND {t}.event_name = ?"),
            "Username" => format!(" AND {t}.username = ?"),
            "EventSource" => format!(" AND {t}.event_source = ?"),
            "AccessKeyId" => format!(" AND {t}.access_key_id = ?"),
            "ResourceType" => by_type.to_owned(),
            "ResourceName" => by_name.to_owned(),
            "ReadOnly" => {
                if value.eq_ignore_ascii_case("true") {
                    format!(" AND {t}.read_only = 1")
                } else if value.eq_ignore_ascii_case("false") {
                    format!(" AND {t}.read_only = 0")
                } else {
                    return Ok(None);
                }
            }
            _ => {
                return Err(StoreError::Backend(
                    "lookup_audit: unknown lookup attribute".to_owned(),
                ))
            }
        };
        sql.push_str(&condition);
        if attribute != "ReadOnly" {
            args.push(Value::Text(value.clone()));
        }
    }
    if let Some(start) = query.start {
        sql.push_str(&format!(" AND {t}.event_time >= ?"));
        args.push(Value::Integer(millis(start)));
    }
    if let Some(end) = query.end {
        sql.push_str(&format!(" AND {t}.event_time <= ?"));
        args.push(Value::Integer(millis(end)));
    }
    if let Some(before) = query.before_seq {
        // Every stored seq fits in an i64, so a larger bound excludes nothing.
        if let Ok(before) = i64::try_from(before) {
            sql.push_str(&format!(" AND {t}.seq < ?"));
            args.push(Value::Integer(before));
        }
    }
    Ok(Some((sql, args)))
}

/// The statement of one part of a lookup: the records matching `conditions` (from
/// [`conditions`]), newest first, at most `LIMIT` (bound last). The tail's statement also
/// takes, before the limit, the `seq` up to which the trail is indexed; the indexed part is
/// whatever `audit_lookup` holds, all of it at or below that `seq` in the same transaction.
fn part_sql(part: LookupPart, conditions: &str) -> String {
    match part {
        // `CROSS JOIN` keeps `audit_lookup` the outer loop: its indexes choose and order the
        // rows, and each record is then read by its `seq`.
        LookupPart::Indexed => format!(
            concat!(
                "SELECT ",
                record_columns!(r),
                " FROM audit_lookup l CROSS JOIN audit_records r ON r.seq = l.seq",
                " WHERE {} ORDER BY l.seq DESC LIMIT ?"
            ),
            conditions
        ),
        LookupPart::Tail => format!(
            concat!(
                "SELECT ",
                record_columns!(r),
                " FROM audit_records r WHERE {} AND r.seq > ? ORDER BY r.seq DESC LIMIT ?"
            ),
            conditions
        ),
    }
}

/// The records of one part of the trail that match, newest first, at most `limit`.
fn lookup_part(
    conn: &Connection,
    part: LookupPart,
    indexed_up_to: i64,
    account: &AccountId,
    query: &AuditQuery,
    limit: usize,
) -> Result<Vec<AuditRow>> {
    let Some((conditions, mut args)) = conditions(part, account, query)? else {
        return Ok(Vec::new());
    };
    if let LookupPart::Tail = part {
        args.push(Value::Integer(indexed_up_to));
    }
    args.push(Value::Integer(i64::try_from(limit).unwrap_or(i64::MAX)));
    let mut stmt = conn.prepare_cached(&part_sql(part, &conditions))?;
    let mut rows = stmt.query(params_from_iter(args))?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(record_from_row(row)?);
    }
    Ok(out)
}

fn lookup(conn: &Connection, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>> {
    if query.limit == 0 {
        return Ok(Vec::new());
    }
    // The tail holds the newest records: it comes first, newest first, and the indexed part
    // fills what is left of the page.
    let up_to = indexed_up_to(conn)?;
    let mut rows = lookup_part(conn, LookupPart::Tail, up_to, account, query, query.limit)?;
    let left = query.limit.saturating_sub(rows.len());
    if left > 0 {
        rows.extend(lookup_part(
            conn,
            LookupPart::Indexed,
            up_to,
            account,
            query,
            left,
        )?);
    }
    Ok(rows)
}

impl AuditStore for SqliteStore {
    fn lost_changes(&self) -> Result<Vec<LostChanges>> {
        if self.path.is_none() {
            // In memory the two databases commit as one.
            return Ok(Vec::new());
        }
        self.read_both(super::commit::lost)
    }

    fn settle_lost_changes(&self, lost: &[LostChanges]) -> Result<()> {
        if lost.is_empty() {
            return Ok(());
        }
        self.write_trail(|trail| super::commit::settle(trail, lost))
    }

    fn audit_head(&self) -> Result<Option<(u64, Vec<u8>)>> {
        self.read_trail(|tx| audit::head(&mut Lite(tx)))
    }

    fn append_audit(&self, rows: &[AuditRow]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        // One `BEGIN IMMEDIATE` transaction on the writer: the head cannot move between the
        // check and the inserts, and the batch commits (one fsync) or rolls back as a whole.
        self.write_trail(|tx| {
            let db = &mut Lite(tx);
            let head = audit::head(db)?;
            audit::append(db, head, rows)
        })
    }

    fn append_audit_with(
        &self,
        link: &mut dyn FnMut(Option<(u64, Vec<u8>)>) -> Vec<AuditRow>,
    ) -> Result<()> {
        self.write_trail(|tx| {
            let db = &mut Lite(tx);
            let head = audit::head(db)?;
            let rows = link(head.clone());
            if rows.is_empty() {
                return Ok(());
            }
            audit::append(db, head, &rows)
        })
    }

    fn read_audit(&self, from_seq: u64, limit: usize) -> Result<Vec<AuditRow>> {
        self.read_trail(|tx| audit::read(&mut Lite(tx), from_seq, limit))
    }

    fn lookup_audit(&self, account: &AccountId, query: &AuditQuery) -> Result<Vec<AuditRow>> {
        self.read_trail(|tx| lookup(tx, account, query))
    }

    fn index_audit(&self, max: usize) -> Result<usize> {
        if max == 0 {
            return Ok(0);
        }
        self.write_trail(|tx| index(tx, max))
    }

    fn put_checkpoint(&self, checkpoint: &CheckpointRow) -> Result<()> {
        self.write_trail(|tx| audit::put_checkpoint(&mut Lite(tx), checkpoint))
    }

    fn list_checkpoints(&self) -> Result<Vec<CheckpointRow>> {
        self.read_trail(|tx| audit::list_checkpoints(&mut Lite(tx)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The plan of `part` of a lookup of `account` with `attribute`, as the audit schema has it.
    fn plan(part: LookupPart, attribute: Option<(&str, &str)>) -> String {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::audit_schema::migrate(&mut conn, "main").unwrap();
        let query = AuditQuery {
            attribute: attribute.map(|(a, v)| (a.to_owned(), v.to_owned())),
            before_seq: Some(9),
            limit: 5,
            ..AuditQuery::default()
        };
        let account = AccountId::parse("000000000000").unwrap();
        let (conditions, _) = conditions(part, &account, &query).unwrap().unwrap();
        let mut stmt = conn
            .prepare(&format!(
                "EXPLAIN QUERY PLAN {}",
                part_sql(part, &conditions)
            ))
            .unwrap();
        let unbound = vec![Value::Null; stmt.parameter_count()];
        let plan: Vec<String> = stmt
            .query_map(params_from_iter(unbound), |row| row.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        plan.join("; ")
    }

    /// The indexed part of every lookup goes through the index of its attribute, newest first
    /// without a sort, and reads each record by its `seq`.
    #[test]
    fn indexed_lookups_use_their_indexes() {
        for (attribute, index) in [
            (None, "audit_lookup_by_account (account=? AND seq<?)"),
            (
                Some(("EventName", "x")),
                "audit_lookup_by_event_name (account=? AND event_name=? AND seq<?)",
            ),
            (
                Some(("Username", "x")),
                "audit_lookup_by_username (account=? AND username=? AND seq<?)",
            ),
            (
                Some(("AccessKeyId", "x")),
                "audit_lookup_by_access_key (account=? AND access_key_id=? AND seq<?)",
            ),
            (
                Some(("EventId", "x")),
                "audit_lookup_by_event_id (event_id=?",
            ),
            (
                Some(("ResourceName", "x")),
                "audit_resources_by_name (name=?)",
            ),
            (
                Some(("ResourceType", "x")),
                "audit_resources_by_type (type=?)",
            ),
        ] {
            let plan = plan(LookupPart::Indexed, attribute);
            assert!(plan.contains(index), "{attribute:?}: {plan}");
            assert!(
                plan.contains("SEARCH r USING INTEGER PRIMARY KEY (rowid=?)"),
                "{attribute:?}: {plan}"
            );
            assert!(!plan.contains("SCAN l"), "{attribute:?}: {plan}");
        }
    }

    /// The tail is read from the end of the records, by `seq`, however the lookup filters.
    #[test]
    fn the_tail_is_read_by_seq() {
        for attribute in [None, Some(("EventName", "x")), Some(("ResourceName", "x"))] {
            let plan = plan(LookupPart::Tail, attribute);
            assert!(
                plan.starts_with("SEARCH r USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)"),
                "{attribute:?}: {plan}"
            );
            assert!(!plan.contains("TEMP B-TREE"), "{attribute:?}: {plan}");
        }
    }
}
