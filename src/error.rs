//! The API's one error type: each variant decides its HTTP status once, and the body is always
//! `{"error": "..."}`. Unexpected errors are logged in full and shown to users as a generic sentence.

use crate::usecases::UseCaseError;
use axum::{
    extract::{rejection::JsonRejection, rejection::QueryRejection, FromRequest, FromRequestParts, Request},
    http::{request::Parts, StatusCode},
    response::{IntoResponse, Response},
    Json,
};
use serde::de::DeserializeOwned;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: Option<u64> },
    #[error("{0}")]
    Conflict(String),
    #[error("request body is larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Unavailable(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

/// The one mapping of use-case outcomes to HTTP.
impl From<UseCaseError> for ApiError {
    fn from(e: UseCaseError) -> Self {
        match e {
            UseCaseError::Invalid(message) => ApiError::BadRequest(message),
            UseCaseError::NotFound(message) => ApiError::NotFound(message.to_string()),
            UseCaseError::Conflict(message) => ApiError::Conflict(message.to_string()),
            UseCaseError::Unauthorized(message) => ApiError::Unauthorized(message.to_string()),
            UseCaseError::Forbidden(message) => ApiError::Forbidden(message.to_string()),
            UseCaseError::TooManyRequests { message, retry_after_secs } => ApiError::TooManyRequests { message, retry_after_secs },
            UseCaseError::QueueUnavailable(source) => {
                tracing::error!(error = ?source, "could not publish a job");
                ApiError::Unavailable(UseCaseError::QueueUnavailable(source).to_string())
            }
            UseCaseError::Unexpected(e) => ApiError::Unexpected(e),
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        ApiError::Unexpected(anyhow::Error::new(e).context("database error"))
    }
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// What the caller may see.
    pub fn public_message(&self) -> String {
        match self {
            ApiError::Unexpected(_) => "Something went wrong on our side. Please try again.".into(),
            other => other.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Unexpected(e) = &self {
            tracing::error!(error = ?e, "request failed");
        }
        let mut response = (self.status(), Json(json!({ "error": self.public_message() }))).into_response();
        if let ApiError::TooManyRequests { retry_after_secs: Some(secs), .. } = &self {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(*secs));
        }
        response
    }
}

/// `Json<T>` whose rejections are `{"error": ...}` 400s instead of axum's plain-text 415/422.
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(JsonRejection::MissingJsonContentType(_)) => {
                Err(ApiError::BadRequest("Send the body as JSON (Content-Type: application/json).".into()))
            }
            Err(rejection) => Err(ApiError::BadRequest(format!("Invalid JSON body: {}", rejection.body_text()))),
        }
    }
}

/// `Query<T>` with `{"error": ...}` rejections.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(ApiError::BadRequest(format!("Invalid query: {}", query_reason(&rejection)))),
        }
    }
}

fn query_reason(rejection: &QueryRejection) -> String {
    rejection.body_text().trim_start_matches("Failed to deserialize query string: ").to_string()
}
