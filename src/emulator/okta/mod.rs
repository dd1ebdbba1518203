//! Okta management API, System Log and OIG emulator. Placeholder until it lands.

use std::sync::Arc;

use axum::Router;

use super::Shared;
use super::world::{People, WorldSpec};

/// The Okta side of the emulator.
pub struct Okta {}

impl Okta {
    /// Builds Okta's data from the world.
    pub fn build(_spec: &WorldSpec, _people: &People, _rate_limit: Option<u32>) -> Self {
        Okta {}
    }
}

/// Okta's routes.
pub fn router(_shared: Arc<Shared>) -> Router {
    Router::new()
}
