//! normalizer (being written).
