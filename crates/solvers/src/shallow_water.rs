//! Shallow water on the rotating sphere (being written).
