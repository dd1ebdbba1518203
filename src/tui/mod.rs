//! The full-screen console (ratatui).
