use tresor_store::StoreError;

/// Why an operation failed, named by condition. `aws_code` and `message` are what the client
/// sees; the server maps them to the wire in one place. Messages never carry secret values:
/// internal failures keep their detail for the log (`Internal`) and send a fixed text.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidNextToken(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    ResourceExists(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    PublicPolicy(String),
    #[error("{0}")]
    DecryptionFailure(String),
    #[error("{0}")]
    EncryptionFailure(String),
    #[error("{0}")]
    Serialization(String),
    /// No operation of this service matches the request's `X-Amz-Target`.
    #[error("{0}")]
    UnknownOperation(String),
    /// The request's authentication failed; the kind decides the code each protocol answers.
    #[error("{message}")]
    Authentication {
        failure: tresor_sigv4::AuthFailure,
        message: String,
    },
    /// Denied, with AWS's message. `unreadable` says which stored policies could not be read
    /// and denied in their place: for the audit record only, since the message must not tell a
    /// caller more than AWS would (such as that a secret it may not see exists).
    #[error("{message}")]
    AccessDenied {
        message: String,
        unreadable: Option<String>,
    },
    /// IAM: the named user, role, policy or key does not exist (HTTP 404).
    #[error("{0}")]
    NoSuchEntity(String),
    /// IAM: the name is taken (HTTP 409).
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// IAM: the entity still has dependents (HTTP 409).
    #[error("{0}")]
    DeleteConflict(String),
    /// CloudTrail: bad lookup attributes, time range or page size.
    #[error("{0}")]
    InvalidLookupAttributes(String),
    #[error("{0}")]
    InvalidTimeRange(String),
    #[error("{0}")]
    InvalidMaxResults(String),
    /// Query protocol: a parameter is malformed.
    #[error("{0}")]
    InvalidInput(String),
    /// Query protocol: no such `Action`.
    #[error("{0}")]
    InvalidAction(String),
    /// STS: the session policy passed to `AssumeRole` is too large (HTTP 400).
    #[error("{0}")]
    PackedPolicyTooLarge(String),
    /// KMS: an error KMS names its own way (`NotFoundException`, `DisabledException`, …).
    #[error("{1}")]
    Kms(KmsError, String),
    /// Detail for the log only; the client gets a fixed message.
    #[error("internal error: {0}")]
    Internal(String),
}

/// The error codes of the KMS API (botocore's `kms` model) that no other service shares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KmsError {
    NotFound,
    AlreadyExists,
    Disabled,
    InvalidState,
    InvalidCiphertext,
    IncorrectKey,
    InvalidKeyUsage,
    InvalidAliasName,
    InvalidArn,
    InvalidMarker,
    MalformedPolicyDocument,
    Tag,
    UnsupportedOperation,
    LimitExceeded,
    KeyUnavailable,
    InvalidGrantToken,
    /// A reserved name (`alias/aws/…`).
    NotAuthorized,
    DryRunOperation,
    CustomKeyStoreNotFound,
}

impl KmsError {
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "NotFoundException",
            Self::AlreadyExists => "AlreadyExistsException",
            Self::Disabled => "DisabledException",
            Self::InvalidState => "KMSInvalidStateException",
            Self::InvalidCiphertext => "InvalidCiphertextException",
            Self::IncorrectKey => "IncorrectKeyException",
            Self::InvalidKeyUsage => "InvalidKeyUsageException",
            Self::InvalidAliasName => "InvalidAliasNameException",
            Self::InvalidArn => "InvalidArnException",
            Self::InvalidMarker => "InvalidMarkerException",
            Self::MalformedPolicyDocument => "MalformedPolicyDocumentException",
            Self::Tag => "TagException",
            Self::UnsupportedOperation => "UnsupportedOperationException",
            Self::LimitExceeded => "LimitExceededException",
            Self::KeyUnavailable => "KeyUnavailableException",
            Self::InvalidGrantToken => "InvalidGrantTokenException",
            Self::NotAuthorized => "NotAuthorizedException",
            Self::DryRunOperation => "DryRunOperationException",
            Self::CustomKeyStoreNotFound => "CustomKeyStoreNotFoundException",
        }
    }
}

impl CoreError {
    pub fn aws_code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "ValidationException",
            Self::InvalidParameter(_) => "InvalidParameterException",
            Self::InvalidRequest(_) => "InvalidRequestException",
            Self::InvalidNextToken(_) => "InvalidNextTokenException",
            Self::ResourceNotFound(_) => "ResourceNotFoundException",
            Self::ResourceExists(_) => "ResourceExistsException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            Self::PublicPolicy(_) => "PublicPolicyException",
            Self::DecryptionFailure(_) => "DecryptionFailure",
            Self::EncryptionFailure(_) => "EncryptionFailure",
            Self::Serialization(_) => "SerializationException",
            Self::UnknownOperation(_) => "UnknownOperationException",
            Self::Authentication { failure, .. } => failure.json_code(),
            Self::AccessDenied { .. } => "AccessDeniedException",
            Self::NoSuchEntity(_) => "NoSuchEntity",
            Self::EntityAlreadyExists(_) => "EntityAlreadyExists",
            Self::DeleteConflict(_) => "DeleteConflict",
            Self::InvalidInput(_) => "InvalidInput",
            Self::InvalidLookupAttributes(_) => "InvalidLookupAttributesException",
            Self::InvalidTimeRange(_) => "InvalidTimeRangeException",
            Self::InvalidMaxResults(_) => "InvalidMaxResultsException",
            Self::InvalidAction(_) => "InvalidAction",
            Self::PackedPolicyTooLarge(_) => "PackedPolicyTooLarge",
            Self::Kms(code, _) => code.code(),
            Self::Internal(_) => "InternalServiceError",
        }
    }

    /// The awsQuery services' (IAM, STS) name for this error: they name some conditions
    /// differently from the JSON services.
    pub fn query_code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "ValidationError",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            Self::LimitExceeded(_) => "LimitExceeded",
            Self::AccessDenied { .. } => "AccessDenied",
            Self::Internal(_) => "InternalFailure",
            Self::Authentication { failure, .. } => failure.query_code(),
            other => other.aws_code(),
        }
    }

    /// The error code a client of `service` receives (and CloudTrail records).
    pub fn code_for(&self, service: crate::Service) -> &'static str {
        if service.is_query() {
            self.query_code()
        } else {
            self.aws_code()
        }
    }

    /// The text sent to the client.
    pub fn message(&self) -> String {
        match self {
            Self::Internal(_) => "An error occurred on the server side.".to_owned(),
            other => other.to_string(),
        }
    }

    /// True for failures on our side (HTTP 500); everything else is the caller's (HTTP 400).
    pub fn is_server_error(&self) -> bool {
        matches!(self, Self::Internal(_))
    }

    /// Denied with `message`, for no reason the audit record needs beyond it.
    pub(crate) fn access_denied(message: String) -> Self {
        Self::AccessDenied {
            message,
            unreadable: None,
        }
    }

    /// What the audit record of this failure adds to its `additionalEventData`.
    pub(crate) fn audit_detail(&self) -> Option<(&'static str, &str)> {
        match self {
            Self::AccessDenied {
                unreadable: Some(why),
                ..
            } => Some(("denialReason", why)),
            _ => None,
        }
    }

    pub(crate) fn secret_not_found() -> Self {
        Self::ResourceNotFound("Secrets Manager can't find the specified secret.".to_owned())
    }

    /// The answer for what the store did not find: Secrets Manager's for a secret, IAM's
    /// `NoSuchEntity`, worded as IAM words it, for the rest.
    fn not_found(missing: &tresor_store::Missing) -> Self {
        use tresor_store::Missing;
        match missing {
            Missing::Secret | Missing::SecretVersion => Self::secret_not_found(),
            other => crate::iam::errors::no_such(other),
        }
    }
}

impl From<StoreError> for CoreError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(missing) => Self::not_found(&missing),
            StoreError::Backend(_) => {
                crate::metrics::store_error();
                Self::Internal(e.to_string())
            }
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<tresor_crypto::CryptoError> for CoreError {
    fn from(e: tresor_crypto::CryptoError) -> Self {
        Self::Internal(format!("crypto: {e}"))
    }
}
