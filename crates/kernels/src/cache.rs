//! Build each kernel tensor once: an in-process cache keyed by the full specification, with an
//! optional on-disk layer.
//!
//! Keys are exact byte strings (every float by its bit pattern), so two specs share an entry
//! only if they are identical. On disk a file is named by a 128-bit FNV-1a hash of the key and
//! stores the key itself, which is compared on load; a collision therefore only costs a rebuild.

use std::collections::HashMap;
use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use sprs::CsMat;

use crate::csr::{KernelTensor, Layout};
use crate::error::{KernelError, Result};
use crate::planar::DiscoPlanarSpec;
use crate::sphere::DiscoS2Spec;

/// A specification that builds a [`KernelTensor`] and has an exact cache key.
pub trait KernelSpec {
    /// Bytes that identify the tensor exactly (floats by bit pattern).
    fn cache_key(&self) -> Vec<u8>;
    /// Builds the tensor.
    fn build_tensor(&self) -> Result<KernelTensor>;
}

fn push_f64s(key: &mut Vec<u8>, values: impl IntoIterator<Item = f64>) {
    for v in values {
        key.extend_from_slice(&v.to_bits().to_le_bytes());
    }
}

impl KernelSpec for DiscoS2Spec {
    fn cache_key(&self) -> Vec<u8> {
        // The Debug form covers every field (floats print round-trip exact); grids go in as bits.
        let (gi, go) = self.grids();
        let mut key = format!(
            "s2|{:?}|{:?}|{:?}|{:?}|{}|{}|{}|{}|",
            self.basis(),
            self.normalization(),
            self.direction(),
            (self.theta_cutoff().to_bits(), self.theta_eps().to_bits()),
            gi.n_lat(),
            gi.n_lon(),
            go.n_lat(),
            go.n_lon()
        )
        .into_bytes();
        for g in [gi, go] {
            push_f64s(&mut key, g.colatitudes().iter().copied());
            push_f64s(&mut key, g.weights().iter().copied());
        }
        key
    }

    fn build_tensor(&self) -> Result<KernelTensor> {
        self.build()
    }
}

impl KernelSpec for DiscoPlanarSpec {
    fn cache_key(&self) -> Vec<u8> {
        let (pin, win, pout) = self.points();
        let mut key = format!(
            "planar|{:?}|{:?}|{:?}|{:?}|{}|{}|{}|",
            self.basis(),
            self.normalization(),
            self.direction(),
            self.domain(),
            self.cutoff().to_bits(),
            pin.len(),
            pout.len()
        )
        .into_bytes();
        push_f64s(&mut key, pin.iter().flatten().copied());
        push_f64s(&mut key, win.iter().copied());
        push_f64s(&mut key, pout.iter().flatten().copied());
        key
    }

    fn build_tensor(&self) -> Result<KernelTensor> {
        self.build()
    }
}

type Slot = Arc<Mutex<Option<Arc<KernelTensor>>>>;

/// Memoises kernel tensors by exact specification.
#[derive(Debug, Default)]
pub struct KernelCache {
    slots: Mutex<HashMap<Vec<u8>, Slot>>,
    dir: Option<PathBuf>,
}

impl KernelCache {
    /// An empty in-memory cache.
    pub fn new() -> Self {
        Self::default()
    }

    /// An in-memory cache backed by files in `dir` (created if missing).
    pub fn with_disk(dir: impl Into<PathBuf>) -> Result<Self> {
        let dir = dir.into();
        fs::create_dir_all(&dir).map_err(|e| cache_err(&dir, e))?;
        Ok(Self { slots: Mutex::default(), dir: Some(dir) })
    }

    /// The process-wide in-memory cache.
    pub fn global() -> &'static KernelCache {
        static GLOBAL: OnceLock<KernelCache> = OnceLock::new();
        GLOBAL.get_or_init(KernelCache::new)
    }

    /// Number of tensors held in memory.
    pub fn len(&self) -> usize {
        let slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
        slots.values().filter(|s| s.lock().map(|s| s.is_some()).unwrap_or(false)).count()
    }

    /// True if no tensor is held in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns the tensor for `spec`, building it (or loading it from disk) at most once per
    /// cache; concurrent callers with the same spec wait for the first build.
    pub fn get_or_build(&self, spec: &impl KernelSpec) -> Result<Arc<KernelTensor>> {
        let key = spec.cache_key();
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots.entry(key.clone()).or_default().clone()
        };
        let mut guard = slot.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(t) = guard.as_ref() {
            return Ok(t.clone());
        }
        let path = self.dir.as_ref().map(|d| d.join(format!("{:032x}.psi", fnv1a128(&key))));
        let from_disk = path.as_ref().and_then(|p| read_tensor(p, &key).ok());
        let tensor = match from_disk {
            Some(t) => Arc::new(t),
            None => {
                let t = Arc::new(spec.build_tensor()?);
                if let Some(p) = &path {
                    write_tensor(p, &key, &t)?;
                }
                t
            }
        };
        *guard = Some(tensor.clone());
        Ok(tensor)
    }
}

/// 128-bit FNV-1a (stable across platforms and Rust versions, unlike `DefaultHasher`).
fn fnv1a128(bytes: &[u8]) -> u128 {
    let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
    for &b in bytes {
        h ^= b as u128;
        h = h.wrapping_mul(0x0000000001000000000000000000013B);
    }
    h
}

const MAGIC: &[u8; 8] = b"LNOPSI01";

fn cache_err(path: &Path, e: impl std::fmt::Display) -> KernelError {
    KernelError::Cache { path: path.display().to_string(), message: e.to_string() }
}

fn write_tensor(path: &Path, key: &[u8], t: &KernelTensor) -> Result<()> {
    let layout = serde_json::to_vec(&t.layout()).map_err(|e| cache_err(path, e))?;
    let m = t.matrix();
    let mut buf = Vec::with_capacity(64 + key.len() + layout.len() + 16 * m.nnz() + 8 * m.rows());
    buf.extend_from_slice(MAGIC);
    for n in [key.len(), layout.len(), t.n_basis(), m.rows(), m.cols(), m.nnz()] {
        buf.extend_from_slice(&(n as u64).to_le_bytes());
    }
    buf.extend_from_slice(key);
    buf.extend_from_slice(&layout);
    for &p in m.indptr().to_proper().iter() {
        buf.extend_from_slice(&(p as u64).to_le_bytes());
    }
    for &i in m.indices() {
        buf.extend_from_slice(&(i as u64).to_le_bytes());
    }
    for &v in m.data() {
        buf.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    // Write then rename, so a reader never sees a partial file.
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = fs::File::create(&tmp).map_err(|e| cache_err(&tmp, e))?;
    f.write_all(&buf).map_err(|e| cache_err(&tmp, e))?;
    drop(f);
    fs::rename(&tmp, path).map_err(|e| cache_err(path, e))
}

fn read_tensor(path: &Path, key: &[u8]) -> Result<KernelTensor> {
    let mut buf = Vec::new();
    fs::File::open(path)
        .and_then(|mut f| f.read_to_end(&mut buf))
        .map_err(|e| cache_err(path, e))?;
    let bad = || cache_err(path, "truncated or corrupt file");
    let mut pos = 0usize;
    let mut take = |n: usize| -> Result<&[u8]> {
        let s = buf.get(pos..pos + n).ok_or_else(bad)?;
        pos += n;
        Ok(s)
    };
    if take(8)? != MAGIC {
        return Err(bad());
    }
    let mut header = [0usize; 6];
    for h in &mut header {
        *h = u64::from_le_bytes(take(8)?.try_into().map_err(|_| bad())?) as usize;
    }
    let [key_len, layout_len, n_basis, rows, cols, nnz] = header;
    if take(key_len)? != key {
        return Err(cache_err(path, "key mismatch (hash collision)"));
    }
    let layout: Layout =
        serde_json::from_slice(take(layout_len)?).map_err(|e| cache_err(path, e))?;
    let mut words = |n: usize| -> Result<Vec<u64>> {
        let raw = take(8 * n)?;
        Ok(raw
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect())
    };
    let indptr: Vec<usize> = words(rows + 1)?.into_iter().map(|v| v as usize).collect();
    let indices: Vec<usize> = words(nnz)?.into_iter().map(|v| v as usize).collect();
    let data: Vec<f64> = words(nnz)?.into_iter().map(f64::from_bits).collect();
    let matrix = CsMat::try_new((rows, cols), indptr, indices, data)
        .map_err(|(_, _, _, e)| cache_err(path, e))?;
    Ok(KernelTensor::from_parts(matrix, n_basis, layout))
}
