//! unet (being written).
