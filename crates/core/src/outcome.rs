//! What a successful step did.

/// What a successful step did, for the step's log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The step did its work.
    Done,
    /// Nothing to do: the work was already done (a retry, or a repeated invocation).
    AlreadyDone,
    /// Nothing to do: the token's version is already `AWSCURRENT`.
    AlreadyCurrent,
}

impl Outcome {
    /// The outcome's name in logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Done => "done",
            Self::AlreadyDone => "already_done",
            Self::AlreadyCurrent => "already_current",
        }
    }
}
