use tresor_store::Scope;
use tresor_types::{AccountId, Region, Timestamp};

/// What kind of identity is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account root: everything is allowed but what a resource policy explicitly denies.
    Root,
    /// An IAM user.
    User { name: String, id: String },
    /// A session of an assumed role (temporary credentials from STS `AssumeRole`).
    AssumedRole {
        role_name: String,
        role_id: String,
        role_arn: String,
        session_name: String,
        /// The session policy given to `AssumeRole`, which can only narrow.
        session_policy: Option<String>,
    },
}

/// Who is calling, as established by SigV4 authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: AccountId,
    /// `arn:aws:iam::<acct>:root`, `arn:aws:iam::<acct>:user/<name>` or
    /// `arn:aws:sts::<acct>:assumed-role/<role>/<session>`.
    pub arn: String,
    pub kind: PrincipalKind,
    pub access_key_id: String,
    /// The principal's tags (`aws:PrincipalTag/*`): the user's or the role's.
    pub tags: Vec<(String, String)>,
}

impl Principal {
    pub fn is_root(&self) -> bool {
        matches!(self.kind, PrincipalKind::Root)
    }

    /// `aws:username`: the user name for users, none otherwise.
    pub fn user_name(&self) -> Option<&str> {
        match &self.kind {
            PrincipalKind::User { name, .. } => Some(name),
            _ => None,
        }
    }

    /// `aws:userid` as AWS forms it: the account id for root, the user id, or
    /// `<role id>:<session name>`.
    pub fn user_id(&self) -> String {
        match &self.kind {
            PrincipalKind::Root => self.account.as_str().to_owned(),
            PrincipalKind::User { id, .. } => id.clone(),
            PrincipalKind::AssumedRole {
                role_id,
                session_name,
                ..
            } => format!("{role_id}:{session_name}"),
        }
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
    /// Whether the request came over TLS (`aws:SecureTransport`).
    pub secure_transport: bool,
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
