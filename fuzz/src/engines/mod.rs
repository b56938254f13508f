//! Engine adapters.

pub mod heddle;
