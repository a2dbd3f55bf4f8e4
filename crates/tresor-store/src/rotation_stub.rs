//! TEMPORARY: replaced by the real implementation when the store branch merges.
#![allow(unused_variables)]
use crate::{Backend, Result, RotationStore, RotatorLogRecord, RotatorRecord, Scope, StoreError};

impl RotationStore for Backend {
    fn create_rotator(&self, rotator: &RotatorRecord) -> Result<()> {
        Err(StoreError::Backend("stub".into()))
    }
    fn get_rotator(&self, scope: &Scope, name: &str) -> Result<Option<RotatorRecord>> {
        Ok(None)
    }
    fn list_rotators(&self, scope: &Scope) -> Result<Vec<RotatorRecord>> {
        Ok(vec![])
    }
    fn delete_rotator(&self, scope: &Scope, name: &str) -> Result<bool> {
        Ok(false)
    }
    fn append_rotator_log(&self, entry: &RotatorLogRecord) -> Result<()> {
        Ok(())
    }
    fn rotator_logs(
        &self,
        a: &str,
        s: Option<&str>,
        limit: usize,
    ) -> Result<Vec<RotatorLogRecord>> {
        Ok(vec![])
    }
    fn rotating_secrets(&self) -> Result<Vec<(String, String)>> {
        Ok(vec![])
    }
}
