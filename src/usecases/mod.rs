//! What Scout does for a user, whoever asks: the JSON API (`api`) and the pages' server functions
//! (`server_fns`) both call these, so validation, ownership and errors are the same for both. Every
//! read and write takes the `Owner`; when accounts arrive, only how an `Owner` is obtained changes.

pub mod campaigns;
pub mod creators;
pub mod searches;

/// The user a request acts for. Until accounts exist every request acts for the built-in `local`
/// user that owns every campaign.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    user_id: String,
}

impl Owner {
    pub fn local() -> Self {
        Self { user_id: "local".into() }
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }
}

/// Why a use case did not happen; `error::ApiError` maps it once to an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum UseCaseError {
    /// The input is wrong; the message says how, in words a marketer understands.
    #[error("{0}")]
    Invalid(String),
    /// Missing, or not the owner's (which looks the same).
    #[error("{0}")]
    NotFound(&'static str),
    /// The request conflicts with the resource's state (e.g. cancelling a finished run).
    #[error("{0}")]
    Conflict(&'static str),
    #[error("The job queue is unavailable right now. Please try again in a minute.")]
    QueueUnavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl From<sqlx::Error> for UseCaseError {
    fn from(e: sqlx::Error) -> Self {
        UseCaseError::Unexpected(anyhow::Error::new(e).context("database error"))
    }
}
