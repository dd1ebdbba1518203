//! Access requests: raising, deciding under the approval policy, and fulfilling through the
//! routes. (Filled in with the access-request issue.)

use super::command::Command;
use super::{Applied, ApplyError, Engine};
use crate::store::Command as OutboxCommand;

/// Applies an access-request command.
pub async fn apply(_engine: &Engine, command: &Command, _claimed: &OutboxCommand) -> Result<Applied, ApplyError> {
    Err(ApplyError::Permanent(format!("cannot {} yet: access requests are not implemented", command.describe())))
}
