//! The region and account of the endpoint's ARNs.

/// The region and account the endpoint pretends to be in, for ARNs.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The region in ARNs.
    pub region: String,
    /// The account id in ARNs.
    pub account: String,
}
