//! rotation-iam: IAM user access keys stored in Secrets Manager.
//!
//! IAM mints the credential: createSecret makes room (IAM allows two keys per user), creates a key and stores it
//! as `AWSPENDING`; setSecret checks that the key is there and active; testSecret signs `sts:GetCallerIdentity`
//! with it and expects the user back; finishSecret promotes. The previous key keeps working until the next
//! rotation, which deactivates and then deletes it; the key `AWSCURRENT` holds is never deleted.

mod config;
mod key;
mod target;

pub use config::{IamConfig, UserFilter};
pub use key::{FieldNames, KeySecret, SECRET_TYPE};
pub use target::AccessKeyTarget;
