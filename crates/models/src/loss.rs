//! loss (being written).
