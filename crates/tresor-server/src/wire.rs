//! The awsJson1.1 wire format: responses, and the one mapping from errors to HTTP.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use tresor_core::CoreError;
use tresor_sigv4::AuthFailure;

pub use tresor_gateway::body::full;
pub use tresor_gateway::Body;

pub const JSON_CONTENT_TYPE: &str = "application/x-amz-json-1.1";

fn with_common_headers(mut resp: Response<Body>, request_id: &str) -> Response<Body> {
    let h = resp.headers_mut();
    h.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(JSON_CONTENT_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        h.insert("x-amzn-requestid", v);
    }
    resp
}

pub fn ok(body: Vec<u8>, request_id: &str) -> Response<Body> {
    with_common_headers(Response::new(full(body)), request_id)
}

/// An AWS-shaped error: `{"__type": code, "Message": text}` plus `x-amzn-ErrorType`.
pub fn error(status: StatusCode, code: &str, message: &str, request_id: &str) -> Response<Body> {
    let body = serde_json::json!({ "__type": code, "Message": message }).to_string();
    let mut resp = with_common_headers(Response::new(full(body)), request_id);
    *resp.status_mut() = status;
    if let Ok(v) = HeaderValue::from_str(code) {
        resp.headers_mut().insert("x-amzn-errortype", v);
    }
    resp
}

/// The one place a core error becomes a response. Server-side detail goes to the log only.
pub fn core_error(e: &CoreError, request_id: &str) -> Response<Body> {
    let status = if e.is_server_error() {
        tracing::error!(request_id, error = %e, "internal error");
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::BAD_REQUEST
    };
    error(status, e.aws_code(), &e.message(), request_id)
}

pub const XML_CONTENT_TYPE: &str = "text/xml";

pub fn ok_xml(body: String, request_id: &str) -> Response<Body> {
    let mut resp = Response::new(full(body));
    resp.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(XML_CONTENT_TYPE),
    );
    if let Ok(v) = HeaderValue::from_str(request_id) {
        resp.headers_mut().insert("x-amzn-requestid", v);
    }
    resp
}

/// The Query protocol's name for an error ([`CoreError::query_code`]), and its HTTP status.
fn query_code(e: &CoreError) -> (&'static str, StatusCode) {
    let status = match e {
        CoreError::LimitExceeded(_)
        | CoreError::EntityAlreadyExists(_)
        | CoreError::DeleteConflict(_) => StatusCode::CONFLICT,
        CoreError::AccessDenied { .. } => StatusCode::FORBIDDEN,
        CoreError::NoSuchEntity(_) => StatusCode::NOT_FOUND,
        CoreError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        CoreError::Authentication { failure, .. } => auth_status(*failure),
        _ => StatusCode::BAD_REQUEST,
    };
    (e.query_code(), status)
}

/// The HTTP status of an awsQuery authentication failure: 403, except a malformed signature
/// (400), as IAM and STS answer.
fn auth_status(failure: AuthFailure) -> StatusCode {
    match failure {
        AuthFailure::IncompleteSignature => StatusCode::BAD_REQUEST,
        AuthFailure::MissingToken
        | AuthFailure::InvalidSignature
        | AuthFailure::UnrecognizedClient
        | AuthFailure::ExpiredToken => StatusCode::FORBIDDEN,
    }
}

/// An awsQuery error response (`<ErrorResponse>`).
pub fn query_error(e: &CoreError, xmlns: &str, request_id: &str) -> Response<Body> {
    let (code, status) = query_code(e);
    if e.is_server_error() {
        tracing::error!(request_id, error = %e, "internal error");
    }
    let body = crate::query::error_xml(xmlns, !e.is_server_error(), code, &e.message(), request_id);
    let mut resp = ok_xml(body, request_id);
    *resp.status_mut() = status;
    resp
}

/// `body`, keeping `guard` alive until it ends (or is dropped).
pub fn held<G: Send + Unpin + 'static>(body: Body, guard: G) -> Body {
    use http_body_util::BodyExt;
    Held {
        body,
        _guard: guard,
    }
    .boxed_unsync()
}

struct Held<G> {
    body: Body,
    _guard: G,
}

impl<G: Unpin> hyper::body::Body for Held<G> {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
