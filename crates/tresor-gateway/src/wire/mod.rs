//! Provider wire formats (placeholder; see the brief).
