//! Okta management API, System Log and OIG client.
