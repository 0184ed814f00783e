//! Layers lowered for burn's CPU backend (flex): the same `Conv2d` modules and weights the GPU path
//! runs, expressed in the flex ops that measure fastest (`unsee bench --layers`). The GPU path
//! keeps calling the modules' own `forward`.
//!
//! How flex 0.22 lowers a `Conv2d` (burn-flex `ops/conv.rs`): a 1x1 stride-1 conv goes straight to
//! one gemm, a depthwise conv to a direct per-channel loop, and everything else to a tiled im2col
//! (NHWC copy of the input, weight relayout on every call, one gemm per 512 pixels). Its gemms are
//! only multi-threaded above 192³ multiply-adds, which leaves most of these small layers on one
//! core; bias and activation are separate passes.

use std::cell::Cell;

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::activation::{relu, relu6};
use burn::tensor::ops::PadMode;
use burn::tensor::s;
use burn::tensor::{Device, Tensor};

/// The activation after a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    /// None (a linear layer: MobileNetV2's projections).
    Linear,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6).
    Relu6,
}

impl Act {
    /// Applies the activation (in place where flex owns the only reference).
    pub fn apply(self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Act::Linear => x,
            Act::Relu => relu(x),
            Act::Relu6 => relu6(x),
        }
    }
}

thread_local! {
    /// Whether lowered layers run on the CPU backend (else the modules' own forward passes, as on
    /// the GPU): on by default. Per thread, so a benchmark or test comparing both cannot change
    /// what another thread's inference runs.
    static LOWERED: Cell<bool> = const { Cell::new(true) };
}

/// Turns the CPU lowering on or off for forward passes run on this thread (benchmarks and tests
/// compare both in one process).
pub fn set_lowered(on: bool) {
    LOWERED.with(|l| l.set(on));
}

/// Whether the CPU lowering is on for this thread.
pub fn is_lowered() -> bool {
    LOWERED.with(Cell::get)
}

/// Whether `x` lives on burn's CPU backend and the lowering is on.
fn lowered(x: &Tensor<4>) -> bool {
    is_lowered() && x.device() == Device::flex()
}

/// A convolution and its activation: on burn's CPU backend in the ops that run fastest there, on
/// any other device the module's own forward pass.
pub fn conv(x: Tensor<4>, conv: &Conv2d, act: Act) -> Tensor<4> {
    if !lowered(&x) {
        return reference(x, conv, act);
    }
    // 1x1 convolutions already are one gemm on the NCHW input in flex (a reshaped `matmul` with a
    // broadcast bias measured 10-55% slower), and depthwise ones a direct loop: both stay on the
    // module. Dense 3x3 ones measured on par with flex's tiled im2col (within the noise of a
    // shared 2-core machine, BENCHMARKS.md); this form skips its NHWC copy and weight relayout.
    if conv.groups == 1 && conv.kernel_size != [1, 1] {
        im2col_conv(x, conv, act)
    } else {
        reference(x, conv, act)
    }
}

/// The reference: the module's own forward pass, then the activation (what the GPU runs).
pub fn reference(x: Tensor<4>, conv: &Conv2d, act: Act) -> Tensor<4> {
    act.apply(conv.forward(x))
}

/// The worker threads flex's kernels use (rayon's global pool).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// Sizes the pool flex's kernels run on, once, before the first CPU inference: one thread per
/// core (`UNSEE_THREADS` overrides, e.g. to compare with a tool pinned to N threads). More threads
/// than cores only adds switching; the pool's threads sleep between passes, so the viewer's own
/// threads keep their core when nothing is classified. Returns the pool's size.
pub fn init_threads() -> usize {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let wanted = std::env::var("UNSEE_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1);
        // Fails only if the pool already exists (someone ran a rayon job first): keep that one.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(wanted)
            .thread_name(|i| format!("unsee-cpu-{i}"))
            .build_global();
    });
    threads()
}

/// Adds the convolution's bias, broadcast over the pixels (in place).
fn add_bias(y: Tensor<4>, conv: &Conv2d) -> Tensor<4> {
    match &conv.bias {
        Some(b) => {
            let c = y.dims()[1];
            y + b.val().reshape([1, c, 1, 1])
        }
        None => y,
    }
}

/// Explicit padding `(top, left, bottom, right)` of `conv` (unsee builds every conv explicitly).
fn padding(conv: &Conv2d) -> (usize, usize, usize, usize) {
    match conv.padding {
        PaddingConfig2d::Explicit(t, l, b, r) => (t, l, b, r),
        PaddingConfig2d::Valid => (0, 0, 0, 0),
        PaddingConfig2d::Same => unreachable!("unsee's convolutions have explicit padding"),
    }
}

/// A dense (groups 1) kh x kw convolution as im2col + one matrix product: the padded input's
/// kh·kw shifted (and strided) views are stacked into `[n, c·kh·kw, oh·ow]` — the order of the
/// weight's own `[m, c, kh, kw]` layout, so the weight is used as it is — then `W · cols`.
pub fn im2col_conv(x: Tensor<4>, conv: &Conv2d, act: Act) -> Tensor<4> {
    let [n, c, h, w] = x.dims();
    let weight = conv.weight.val();
    let [m, _, kh, kw] = weight.dims();
    let [sh, sw] = conv.stride;
    let (top, left, bottom, right) = padding(conv);
    let oh = (h + top + bottom - kh) / sh + 1;
    let ow = (w + left + right - kw) / sw + 1;
    let xp = if top + left + bottom + right > 0 {
        x.pad([(top, bottom), (left, right)], PadMode::Constant(0.0))
    } else {
        x
    };
    let mut taps = Vec::with_capacity(kh * kw);
    for ky in 0..kh {
        for kx in 0..kw {
            taps.push(xp.clone().slice(s![
                ..,
                ..,
                ky..ky + (oh - 1) * sh + 1;sh as isize,
                kx..kx + (ow - 1) * sw + 1;sw as isize
            ]));
        }
    }
    let cols = Tensor::stack::<5>(taps, 2).reshape([n, c * kh * kw, oh * ow]);
    let y = weight
        .reshape([1, m, c * kh * kw])
        .matmul(cols)
        .reshape([n, m, oh, ow]);
    act.apply(add_bias(y, conv))
}

/// Output size of a pooling window `k`, stride `s`, no padding, over `len` (PyTorch's rule: in
/// ceil mode the last window may hang over the edge but must start inside).
fn pool_len(len: usize, k: usize, s: usize, ceil_mode: bool) -> usize {
    let span = len.saturating_sub(k);
    if !ceil_mode {
        return span / s + 1;
    }
    let out = span.div_ceil(s) + 1;
    if (out - 1) * s >= len { out - 1 } else { out }
}

/// Max pooling. On the CPU backend separable, exact: the windows along each row as a strided view
/// (`unfold`: `[n, c, h, ow, kw]`, no copy) reduced by `max_dim` over the last axis, then the same
/// along the columns — a few passes over the data, far cheaper than flex's pooling, which walks
/// every window of every pixel with bounds checks and also computes (and throws away) the argmax
/// indices. Elsewhere the module's own forward.
pub fn max_pool(x: Tensor<4>, pool: &MaxPool2d) -> Tensor<4> {
    let unpadded = matches!(
        pool.padding,
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
    );
    if !lowered(&x) || !unpadded || pool.dilation != [1, 1] {
        return pool.forward(x);
    }
    let [n, c, h, w] = x.dims();
    let [kh, kw] = pool.kernel_size;
    let [sh, sw] = pool.stride;
    let oh = pool_len(h, kh, sh, pool.ceil_mode);
    let ow = pool_len(w, kw, sw, pool.ceil_mode);
    // In ceil mode the last window may reach past the edge: −∞ there never wins.
    let bottom = ((oh - 1) * sh + kh).saturating_sub(h);
    let right = ((ow - 1) * sw + kw).saturating_sub(w);
    let x = if bottom + right > 0 {
        x.pad(
            [(0, bottom), (0, right)],
            PadMode::Constant(f32::NEG_INFINITY),
        )
    } else {
        x
    };
    let rows: Tensor<5> = x.unfold(3, kw, sw);
    let rows = rows.max_dim(4).reshape([n, c, h + bottom, ow]);
    let cols: Tensor<5> = rows.unfold(2, kh, sh);
    cols.max_dim(4).reshape([n, c, oh, ow])
}
