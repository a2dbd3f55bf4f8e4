//! The commit of a group across the two files, and the link that finds a change that did not
//! commit after its records did.
//!
//! WAL mode commits each file on its own, so a group's commit is two: the audit trail's first,
//! then the store file's. A crash (or a failed write) between the two leaves records of changes
//! that never happened; the reverse, a change without its record, cannot happen. To tell the
//! first case apart from a success, every group that changed the store file and appended
//! records writes its records' range into both files, in the same two commits: the trail's
//! `store_commit` and the store file's `trail_link`. After a clean commit they agree. When the
//! trail's is ahead, that group's store commit was lost: its records are reported by
//! [`SqliteStore::lost_changes`](super::SqliteStore) (the next group that links the files keeps
//! such a group in `lost_changes`, so it is never overwritten), and the audit writer answers
//! them with a record of their own, then settles them.
//!
//! Debug builds stop the process at chosen points of a commit when asked (see [`fault`]), so
//! tests can show what each crash leaves; release builds have no such code.

use rusqlite::{params, Connection, OptionalExtension};

use super::{exec, Writer};
use crate::{LostChanges, Result, StoreError};

/// The trail's last `seq` (0 when empty), as the writer's trail connection sees it.
pub(super) fn trail_head(w: &Writer) -> Result<u64> {
    let head: i64 = w
        .trail()
        .prepare_cached("SELECT coalesce(max(seq), 0) FROM audit_records")?
        .query_row([], |row| row.get(0))?;
    to_u64(head)
}

/// Commit the open group: the trail, then the store file, linked. In memory there is one
/// connection and one commit.
pub(super) fn commit(w: &Writer) -> Result<()> {
    let Some(trail) = &w.trail else {
        return exec(&w.conn, "COMMIT");
    };
    let linked = w.changed_state && link(w)?;
    fault::reached(fault::Point::BeforeTrailCommit, linked);
    exec(trail, "COMMIT")?;
    fault::reached(fault::Point::BetweenCommits, linked);
    fault::fail(fault::Point::StoreCommit, linked)?;
    exec(&w.conn, "COMMIT")?;
    fault::reached(fault::Point::AfterCommits, linked);
    Ok(())
}

/// Write the group's records' range into both files, keeping an earlier group whose store
/// commit was lost in `lost_changes` instead of overwriting it. `false` when the group
/// appended no records (nothing can then be left without its change).
fn link(w: &Writer) -> Result<bool> {
    let last = trail_head(w)?;
    if last <= w.trail_head {
        return Ok(false);
    }
    let first = w.trail_head + 1;
    let trail = w.trail();
    let (linked_first, linked_last, settled) = store_commit(trail)?;
    let store_last = trail_link(&w.conn)?;
    if linked_last > store_last && settled < linked_last {
        trail
            .prepare_cached(
                "INSERT OR IGNORE INTO lost_changes (first_seq, last_seq) VALUES (?1, ?2)",
            )?
            .execute(params![to_i64(linked_first)?, to_i64(linked_last)?])?;
    }
    trail
        .prepare_cached("UPDATE store_commit SET first_seq = ?1, last_seq = ?2 WHERE id = 1")?
        .execute(params![to_i64(first)?, to_i64(last)?])?;
    w.conn
        .prepare_cached("UPDATE trail_link SET last_seq = ?1 WHERE id = 1")?
        .execute(params![to_i64(last)?])?;
    Ok(true)
}

/// The trail's `(first_seq, last_seq, settled_seq)`.
fn store_commit(trail: &Connection) -> Result<(u64, u64, u64)> {
    let row: Option<(i64, i64, i64)> = trail
        .prepare_cached("SELECT first_seq, last_seq, settled_seq FROM store_commit WHERE id = 1")?
        .query_row([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .optional()?;
    let (first, last, settled) = row.ok_or_else(|| missing("store_commit"))?;
    Ok((to_u64(first)?, to_u64(last)?, to_u64(settled)?))
}

/// The store file's `last_seq`.
fn trail_link(state: &Connection) -> Result<u64> {
    let last: Option<i64> = state
        .prepare_cached("SELECT last_seq FROM trail_link WHERE id = 1")?
        .query_row([], |row| row.get(0))
        .optional()?;
    to_u64(last.ok_or_else(|| missing("trail_link"))?)
}

/// Groups whose records committed without their changes, oldest first: those kept in
/// `lost_changes`, and the last linked group if the store file's link is behind the trail's.
pub(super) fn lost(state: &Connection, trail: &Connection) -> Result<Vec<LostChanges>> {
    let mut lost = trail
        .prepare_cached("SELECT first_seq, last_seq FROM lost_changes ORDER BY first_seq")?
        .query_map([], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, i64>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?
        .into_iter()
        .map(|(first, last)| {
            Ok(LostChanges {
                first_seq: to_u64(first)?,
                last_seq: to_u64(last)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let (first, last, settled) = store_commit(trail)?;
    if last > trail_link(state)? && settled < last && !lost.iter().any(|l| l.last_seq == last) {
        lost.push(LostChanges {
            first_seq: first,
            last_seq: last,
        });
    }
    Ok(lost)
}

/// Stop reporting `lost`: each has a record of its own now (appended in the same transaction).
pub(super) fn settle(trail: &Connection, lost: &[LostChanges]) -> Result<()> {
    for l in lost {
        trail
            .prepare_cached("DELETE FROM lost_changes WHERE first_seq = ?1 AND last_seq = ?2")?
            .execute(params![to_i64(l.first_seq)?, to_i64(l.last_seq)?])?;
        trail
            .prepare_cached(
                "UPDATE store_commit SET settled_seq = last_seq
                 WHERE id = 1 AND first_seq = ?1 AND last_seq = ?2",
            )?
            .execute(params![to_i64(l.first_seq)?, to_i64(l.last_seq)?])?;
    }
    Ok(())
}

fn missing(table: &str) -> StoreError {
    StoreError::Backend(format!(
        "the {table} row of the link between the files is missing"
    ))
}

fn to_i64(seq: u64) -> Result<i64> {
    i64::try_from(seq).map_err(|_| StoreError::Backend("an audit seq is out of range".to_owned()))
}

fn to_u64(seq: i64) -> Result<u64> {
    u64::try_from(seq).map_err(|_| StoreError::Backend("an audit seq is negative".to_owned()))
}

/// Fault points for crash tests, in debug builds only: when the directory named by
/// `TRESOR_FAULT_DIR` holds a file named after a point, the next commit of a group that
/// changed the store and appended records reaches that point and stops the process there
/// (`abort`, as abrupt as `kill -9`), or, for [`Point::StoreCommit`], fails the store file's
/// commit as a full disk would (the file is removed: once). Release builds compile none of it.
pub(super) mod fault {
    use crate::Result;
    #[cfg(debug_assertions)]
    use crate::StoreError;

    #[derive(Debug, Clone, Copy)]
    pub(in super::super) enum Point {
        /// The group's statements ran; neither file has committed.
        BeforeTrailCommit,
        /// The trail committed; the store file has not.
        BetweenCommits,
        /// The store file's commit fails (the process goes on).
        StoreCommit,
        /// Both committed; nobody has been answered.
        AfterCommits,
    }

    #[cfg(debug_assertions)]
    impl Point {
        fn file_name(self) -> &'static str {
            match self {
                Self::BeforeTrailCommit => "before-trail-commit",
                Self::BetweenCommits => "between-commits",
                Self::StoreCommit => "fail-store-commit",
                Self::AfterCommits => "after-commits",
            }
        }
    }

    /// Whether `point` is armed for a commit that `linked` the files; disarms it.
    #[cfg(debug_assertions)]
    fn armed(point: Point, linked: bool) -> bool {
        if !linked {
            return false;
        }
        let Some(dir) = std::env::var_os("TRESOR_FAULT_DIR") else {
            return false;
        };
        let file = std::path::Path::new(&dir).join(point.file_name());
        std::fs::remove_file(file).is_ok()
    }

    /// Stop the process here if `point` is armed.
    #[cfg(debug_assertions)]
    pub(in super::super) fn reached(point: Point, linked: bool) {
        if armed(point, linked) {
            tracing::error!(
                point = point.file_name(),
                "fault injection: stopping the process"
            );
            std::process::abort();
        }
    }

    /// Fail here if `point` is armed.
    #[cfg(debug_assertions)]
    pub(in super::super) fn fail(point: Point, linked: bool) -> Result<()> {
        if armed(point, linked) {
            return Err(StoreError::Backend(
                "fault injection: the commit failed".to_owned(),
            ));
        }
        Ok(())
    }

    #[cfg(not(debug_assertions))]
    #[inline(always)]
    pub(in super::super) fn reached(_: Point, _: bool) {}

    #[cfg(not(debug_assertions))]
    #[inline(always)]
    pub(in super::super) fn fail(_: Point, _: bool) -> Result<()> {
        Ok(())
    }
}
