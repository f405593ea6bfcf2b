//! The world of one process: every collective is the identity.

use crate::{Communicator, Result, check_root};

/// A world of one; see [`Communicator`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SingleProcess;

impl Communicator for SingleProcess {
    fn rank(&self) -> usize {
        0
    }

    fn world_size(&self) -> usize {
        1
    }

    fn backend(&self) -> &'static str {
        "single"
    }

    fn barrier(&self) -> Result<()> {
        Ok(())
    }

    fn broadcast_f32(&self, _buf: &mut [f32], root: usize) -> Result<()> {
        check_root(root, 1)
    }

    fn broadcast_bytes(&self, _buf: &mut Vec<u8>, root: usize) -> Result<()> {
        check_root(root, 1)
    }

    fn all_reduce_sum(&self, _buf: &mut [f32]) -> Result<()> {
        Ok(())
    }

    fn abort(&self, message: &str) -> ! {
        eprintln!("{message}");
        std::process::exit(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_process_is_rank_zero_of_a_world_of_one() {
        let c = SingleProcess;
        assert_eq!((c.rank(), c.world_size(), c.is_root()), (0, 1, true));
        assert_eq!(c.backend(), "single");
        c.barrier().unwrap();
    }

    #[test]
    fn single_process_collectives_leave_buffers_unchanged() {
        let c = SingleProcess;
        let original = vec![1.5f32, -2.0, 0.25, f32::MAX];
        let mut buf = original.clone();
        c.all_reduce_sum(&mut buf).unwrap();
        assert_eq!(buf, original);
        c.all_reduce_mean(&mut buf).unwrap();
        assert_eq!(buf, original);
        c.broadcast_f32(&mut buf, 0).unwrap();
        assert_eq!(buf, original);
        let mut bytes = b"weights".to_vec();
        c.broadcast_bytes(&mut bytes, 0).unwrap();
        assert_eq!(bytes, b"weights");
    }

    #[test]
    fn single_process_broadcast_from_a_rank_outside_the_world_is_an_error_naming_root() {
        let c = SingleProcess;
        let err = c.broadcast_f32(&mut [0.0], 1).unwrap_err().to_string();
        assert!(err.contains("`root`") && err.contains("got 1"), "{err}");
        let err = c.broadcast_bytes(&mut Vec::new(), 3).unwrap_err().to_string();
        assert!(err.contains("`root`") && err.contains("got 3"), "{err}");
    }
}
