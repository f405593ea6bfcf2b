//! sfno (being written).
