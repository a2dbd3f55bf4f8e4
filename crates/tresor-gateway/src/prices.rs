//! Model prices (placeholder; see the brief).
