//! Flow past a cylinder (being written).
