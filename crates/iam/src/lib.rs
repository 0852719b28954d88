//! rotation-iam: IAM user access keys stored in Secrets Manager.
//!
//! IAM mints the credential: createSecret binds the user to the secret (an administrator's `rotor:user` tag
//! names it, or the secret's `AWSCURRENT` or `AWSPREVIOUS` key signs as it), makes room (IAM allows two keys per
//! user), creates a key, names it in the secret's record on the user and stores it as `AWSPENDING`; setSecret
//! checks that the key is there and active; testSecret signs `sts:GetCallerIdentity` with it and expects the user
//! back; finishSecret promotes. The previous key keeps working until the next rotation, which deactivates and then
//! deletes it once `AWSPREVIOUS`'s secret access key proves it and the record names it as minted for this secret.
//! Rotor deletes no other key but one an interrupted attempt of the same rotation minted (the record, written
//! before minting, bounds when), never a key another secret's record names, and never the key `AWSCURRENT` holds.

mod clock;
mod config;
mod function;
mod key;
mod record;
mod room;
mod target;

pub use config::{IamConfig, UserFilter};
pub use function::RotateIamAccessKey;
pub use key::{FieldNames, KeySecret, SECRET_TYPE};
pub use target::AccessKeyTarget;
