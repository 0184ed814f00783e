//! Loading `.safetensors` weight files: checksum first (so a damaged file is named with the
//! checksum it should have), then tensors by torchvision key with their expected shapes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A weight file unsee ships: its name under `models/` and its sha256.
#[derive(Clone, Copy, Debug)]
pub struct WeightFileSpec {
    /// File name inside the models folder.
    pub file: &'static str,
    /// Lower-case hex sha256 of the file.
    pub sha256: &'static str,
}

/// The tensors of one weight file, as f32 on the CPU until a model takes them.
pub struct WeightFile {
    path: PathBuf,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
}

impl WeightFile {
    /// Reads `dir/spec.file`, checks its sha256 and parses every tensor.
    pub fn load(dir: &Path, spec: WeightFileSpec) -> Result<Self> {
        let path = dir.join(spec.file);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(Error::WeightsMissing {
                    path,
                    expected_sha256: spec.sha256,
                });
            }
            Err(e) => {
                return Err(Error::WeightsFormat {
                    path,
                    reason: e.to_string(),
                });
            }
        };
        let actual = hex(&Sha256::digest(&bytes));
        if actual != spec.sha256 {
            return Err(Error::WeightsCorrupt {
                path,
                actual,
                expected_sha256: spec.sha256,
            });
        }
        Self::parse(path, &bytes)
    }

    /// Parses safetensors bytes without a checksum (for tests with synthetic files).
    pub fn parse(path: PathBuf, bytes: &[u8]) -> Result<Self> {
        let format_err = |reason: String| Error::WeightsFormat {
            path: path.clone(),
            reason,
        };
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| format_err(format!("not a safetensors file: {e}")))?;
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != safetensors::Dtype::F32 {
                return Err(format_err(format!(
                    "tensor {name} is {:?}, expected F32",
                    view.dtype()
                )));
            }
            // The data may be unaligned inside the file: decode bytewise.
            let values = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect();
            tensors.insert(name, (view.shape().to_vec(), values));
        }
        Ok(Self { path, tensors })
    }

    /// Takes the values of tensor `name`, checking that its shape is `shape`.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let (found, values) = self
            .tensors
            .remove(name)
            .ok_or_else(|| Error::WeightsFormat {
                path: self.path.clone(),
                reason: format!("tensor {name} is missing"),
            })?;
        if found != shape {
            return Err(Error::WeightsFormat {
                path: self.path.clone(),
                reason: format!("tensor {name} has shape {found:?}, expected {shape:?}"),
            });
        }
        Ok(values)
    }

    /// Takes tensor `name` of shape `shape` onto `device`.
    pub fn tensor<const D: usize>(
        &mut self,
        name: &str,
        shape: [usize; D],
        device: &Device,
    ) -> Result<Tensor<D>> {
        let values = self.take(name, &shape)?;
        Ok(to_device(values, shape, device))
    }

    /// The file the tensors came from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Moves CPU values of the given shape onto `device`.
pub fn to_device<const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &Device,
) -> Tensor<D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
