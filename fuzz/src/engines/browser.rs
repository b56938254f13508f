//! Chromium and Firefox (placeholder).
