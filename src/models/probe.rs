//! Per-layer hooks: a forward pass hands each stage's output to a probe, so `unsee bench --layers`
//! can show where the time goes and gradient methods can split the network at a layer, without a
//! second copy of the network code.

use std::fmt::Display;
use std::time::Instant;

use burn::tensor::Tensor;

/// Receives every stage's output, in order, during a forward pass.
pub trait Probe {
    /// Stage `name` has produced `out` (`name` is only formatted by probes that keep it).
    fn stage(&mut self, name: &dyn Display, out: &Tensor<4>);

    /// Stage `name` has produced `out`; what this returns goes on through the network in its
    /// place. The default only reports it to [`Probe::stage`]. Grad-CAM replaces one stage's
    /// output with the same values tracked by autodiff, which splits the network there.
    fn tap(&mut self, name: &dyn Display, out: Tensor<4>) -> Tensor<4> {
        self.stage(name, &out);
        out
    }

    /// Whether the probe needs every layer's own output (a gradient method splitting the network
    /// inside a block). When not, a block may run as one fused kernel and report one stage.
    fn sees_layers(&self) -> bool {
        true
    }
}

/// The probe of an ordinary forward pass: does nothing (and compiles to nothing).
pub struct NoProbe;

impl Probe for NoProbe {
    #[inline]
    fn stage(&mut self, _name: &dyn Display, _out: &Tensor<4>) {}

    fn sees_layers(&self) -> bool {
        false
    }
}

/// Wall time of each stage: the time since the previous stage ended (or since [`LayerTimer::new`]),
/// after waiting for the stage's device. burn's CPU backend computes eagerly, so there the wait is
/// free; on a GPU it serialises the pass, which is the point when timing layers.
pub struct LayerTimer {
    last: Instant,
    /// `(stage, ms)` in execution order.
    pub stages: Vec<(String, f64)>,
}

impl LayerTimer {
    /// Starts the clock.
    pub fn new() -> Self {
        Self {
            last: Instant::now(),
            stages: Vec::new(),
        }
    }
}

impl Default for LayerTimer {
    fn default() -> Self {
        Self::new()
    }
}

impl Probe for LayerTimer {
    fn stage(&mut self, name: &dyn Display, out: &Tensor<4>) {
        // A failed sync only makes the figure wrong, never the result: the pass goes on.
        let _ = out.device().sync();
        let now = Instant::now();
        self.stages
            .push((name.to_string(), (now - self.last).as_secs_f64() * 1e3));
        self.last = now;
    }

    /// Times what a plain forward pass runs: a fused block as one stage.
    fn sees_layers(&self) -> bool {
        false
    }
}
