//! Engine adapters.

pub mod browser;
pub mod heddle;
pub mod js;
