use tresor_store::Scope;
use tresor_types::{AccountId, Region, Timestamp};

/// Who is calling, as established by SigV4 authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: AccountId,
    /// `arn:aws:iam::<account>:root` for the account root, the user's ARN otherwise.
    pub arn: String,
    /// IAM user name; `None` for the account root.
    pub user_name: Option<String>,
    pub access_key_id: String,
}

impl Principal {
    pub fn is_root(&self) -> bool {
        self.user_name.is_none()
    }
}

/// Everything an operation needs to know about the request besides its parameters.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub principal: Principal,
    /// The region from the request's SigV4 credential scope.
    pub region: Region,
    pub request_id: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    pub now: Timestamp,
}

impl RequestContext {
    /// The (account, region) this request acts in.
    pub fn scope(&self) -> Scope {
        Scope {
            account: self.principal.account.clone(),
            region: self.region.clone(),
        }
    }
}
