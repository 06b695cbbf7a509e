//! What Scout does for a user, whoever asks: the JSON API (`api`) and the pages' server functions
//! (`server_fns`) both call these, so validation, ownership and errors are the same for both. Every
//! read and write takes the `Owner` (the signed-in account and its workspace; see `auth::principal`).

pub mod accounts;
pub mod campaigns;
pub mod creators;
pub mod limits;
pub mod searches;

/// An account's role: admins manage accounts and may read (never change) everyone's runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    /// Anything but `admin` is a member, so an unexpected value never grants more.
    pub fn parse(raw: &str) -> Self {
        if raw == "admin" {
            Role::Admin
        } else {
            Role::Member
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }
}

/// The account a request acts for, and the workspace its campaigns live in (its personal one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    user_id: String,
    workspace_id: String,
    role: Role,
}

impl Owner {
    pub fn new(user_id: String, workspace_id: String, role: Role) -> Self {
        Self { user_id, workspace_id, role }
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// Where this account's campaigns are created and changed.
    pub fn workspace_id(&self) -> &str {
        &self.workspace_id
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn role(&self) -> Role {
        self.role
    }

    /// Which workspace reads may look in: the account's own, or (for an admin) every one.
    pub fn read_scope(&self) -> Option<&str> {
        match self.role {
            Role::Admin => None,
            Role::Member => Some(&self.workspace_id),
        }
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
    /// No (valid) credentials.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Signed in, but not allowed (an admin changing another member's run, a member managing accounts).
    #[error("{0}")]
    Forbidden(&'static str),
    /// Over a limit; the message says which and when it frees up.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after_secs: Option<u64> },
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
