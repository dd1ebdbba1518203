//! ServiceNow Table API emulator (issue: foundation). Placeholder until the Table API lands.

use std::sync::Arc;

use axum::Router;

use super::Shared;
use super::world::{People, WorldSpec};

/// The ServiceNow side of the emulator.
pub struct ServiceNow {}

impl ServiceNow {
    /// Builds ServiceNow's tables from the world.
    pub fn build(_spec: &WorldSpec, _people: &People, _rate_limit: Option<u32>) -> Self {
        ServiceNow {}
    }
}

/// ServiceNow's routes.
pub fn router(_shared: Arc<Shared>) -> Router {
    Router::new()
}
