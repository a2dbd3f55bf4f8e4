//! CloudTrail `LookupEvents`: reading the audit trail back, so `aws cloudtrail lookup-events`
//! works. Reading needs `cloudtrail:LookupEvents`; a caller sees its own account's events in
//! the request's region, as CloudTrail's event history is per region.

use serde::{Deserialize, Serialize};
use tresor_store::{AuditQuery, AuditStore};
use tresor_types::{epoch, NextToken, Timestamp};

use crate::authz::Resource;
use crate::validate::{Validate, Validated, Validator};
use crate::{Core, CoreError, RequestContext};

/// The CloudTrail operations Tresor serves (of the botocore `cloudtrail` model, 2013-11-01).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    LookupEvents,
}

impl Operation {
    pub const ALL: [Operation; 1] = [Self::LookupEvents];

    pub fn name(self) -> &'static str {
        match self {
            Self::LookupEvents => "LookupEvents",
        }
    }

    /// Parse the operation part of `X-Amz-Target: <CloudTrail prefix>.<Op>`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.name() == name)
    }

    /// The IAM action that authorizes this operation (`cloudtrail:LookupEvents`).
    pub fn iam_action(self) -> String {
        format!("cloudtrail:{}", self.name())
    }
}

/// The attributes `LookupEvents` can filter on.
pub const LOOKUP_ATTRIBUTES: [&str; 8] = [
    "EventId",
    "EventName",
    "ReadOnly",
    "Username",
    "ResourceType",
    "ResourceName",
    "EventSource",
    "AccessKeyId",
];

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct LookupAttribute {
    pub attribute_key: Option<String>,
    pub attribute_value: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
pub struct LookupEventsRequest {
    pub lookup_attributes: Option<Vec<LookupAttribute>>,
    /// Epoch seconds.
    pub start_time: Option<f64>,
    pub end_time: Option<f64>,
    pub event_category: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<NextToken>,
}

impl Validate for LookupEventsRequest {
    fn check(&self, v: &mut Validator) -> Result<(), CoreError> {
        v.one_of(
            self.event_category.as_deref(),
            "eventCategory",
            &["insight"],
        );
        v.member(self.next_token.as_ref(), "nextToken");
        Ok(())
    }
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct EventResource {
    pub resource_type: String,
    pub resource_name: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Event {
    pub event_id: String,
    pub event_name: String,
    pub read_only: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<String>,
    #[serde(serialize_with = "epoch")]
    pub event_time: Timestamp,
    pub event_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    pub resources: Vec<EventResource>,
    /// The full event as JSON text; already redacted when it was recorded.
    pub cloud_trail_event: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct LookupEventsResponse {
    pub events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// Most records one call reads from the trail while looking for the request's region: a call
/// in a region with few events answers with what it found and a `NextToken`, as CloudTrail
/// may answer a page with fewer events than asked.
const SCAN_BUDGET: usize = 5_000;
/// Records read from the trail at a time.
const SCAN_CHUNK: usize = 200;

/// The `awsRegion` of a stored event, read without parsing the rest into an event.
fn region_of(event_json: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct RegionOnly {
        #[serde(rename = "awsRegion")]
        aws_region: String,
    }
    serde_json::from_str::<RegionOnly>(event_json)
        .ok()
        .map(|r| r.aws_region)
}

fn seconds(t: f64) -> Timestamp {
    Timestamp::from_millis((t * 1000.0) as i64)
}

impl Core {
    pub fn lookup_events(
        &self,
        ctx: &RequestContext,
        req: Validated<LookupEventsRequest>,
    ) -> Result<LookupEventsResponse, CoreError> {
        let req = req.into_inner();
        self.authorize(ctx, &Operation::LookupEvents.iam_action(), Resource::any())?;
        if req.event_category.is_some() {
            // Insights events are not produced; the answer is an empty list, as on a trail
            // without Insights.
            return Ok(LookupEventsResponse {
                events: Vec::new(),
                next_token: None,
            });
        }
        let attributes = req.lookup_attributes.unwrap_or_default();
        if attributes.len() > 1 {
            return Err(CoreError::InvalidLookupAttributes(
                "You cannot specify more than one lookup attribute.".to_owned(),
            ));
        }
        let attribute = match attributes.into_iter().next() {
            None => None,
            Some(a) => {
                let key = a.attribute_key.unwrap_or_default();
                if !LOOKUP_ATTRIBUTES.contains(&key.as_str()) {
                    return Err(CoreError::InvalidLookupAttributes(format!(
                        "The lookup attribute key {key:?} is not valid; it must be one of {}.",
                        LOOKUP_ATTRIBUTES.join(", ")
                    )));
                }
                let value = a.attribute_value.unwrap_or_default();
                if value.is_empty() || value.len() > 2000 {
                    return Err(CoreError::InvalidLookupAttributes(
                        "The lookup attribute value must be 1 to 2000 characters long.".to_owned(),
                    ));
                }
                Some((key, value))
            }
        };
        let (start, end) = (req.start_time.map(seconds), req.end_time.map(seconds));
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(CoreError::InvalidTimeRange(
                    "The start time must be before the end time.".to_owned(),
                ));
            }
        }
        let limit = match req.max_results {
            None => 50,
            Some(n) if (1..=50).contains(&n) => n as usize,
            Some(_) => {
                return Err(CoreError::InvalidMaxResults(
                    "MaxResults must be between 1 and 50.".to_owned(),
                ))
            }
        };
        let before_seq = match req.next_token.as_deref() {
            None => None,
            Some(t) => Some(
                t.strip_prefix("seq-")
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|n| *n > 1)
                    .ok_or_else(|| {
                        CoreError::InvalidNextToken("The NextToken value is invalid.".to_owned())
                    })?,
            ),
        };
        // Newest first: each read continues below the last record it saw.
        let region = ctx.region.as_str();
        let mut rows = Vec::new();
        let mut below = before_seq;
        let mut scanned = 0;
        let mut exhausted = false;
        while rows.len() <= limit && !exhausted && scanned < SCAN_BUDGET {
            let query = AuditQuery {
                attribute: attribute.clone(),
                start,
                end,
                before_seq: below,
                limit: SCAN_CHUNK,
            };
            let chunk = self.store.lookup_audit(&ctx.principal.account, &query)?;
            exhausted = chunk.len() < SCAN_CHUNK;
            for row in chunk {
                scanned += 1;
                below = Some(row.seq);
                if region_of(&row.event_json).as_deref() == Some(region) {
                    rows.push(row);
                    if rows.len() > limit {
                        break;
                    }
                }
            }
        }
        let next_token = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| format!("seq-{}", r.seq))
        } else if !exhausted {
            // The budget ran out first: the next page starts below the last record read.
            below.filter(|seq| *seq > 1).map(|seq| format!("seq-{seq}"))
        } else {
            None
        };
        let events = rows
            .into_iter()
            .map(|r| Event {
                event_id: r.event_id,
                event_name: r.event_name,
                read_only: r.read_only.to_string(),
                access_key_id: r.access_key_id,
                event_time: r.event_time,
                event_source: r.event_source,
                username: r.username,
                resources: r
                    .resources
                    .into_iter()
                    .map(|(resource_type, resource_name)| EventResource {
                        resource_type,
                        resource_name,
                    })
                    .collect(),
                cloud_trail_event: r.event_json,
            })
            .collect();
        Ok(LookupEventsResponse { events, next_token })
    }
}
