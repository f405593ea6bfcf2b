//! local_no (being written).
