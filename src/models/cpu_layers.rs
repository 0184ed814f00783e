//! Layers lowered for burn's CPU backend (flex): the same `Conv2d` / `MaxPool2d` modules and
//! weights the GPU path runs, computed by the fused kernels of `cpu_kernels` on flex's own tensor
//! memory. Any other device (the GPU, autodiff) keeps the modules' own forward passes, and so does
//! any layer shape the kernels do not cover.
//!
//! How flex 0.22 lowers these layers itself (burn-flex `ops/conv.rs`, `ops/pool.rs`): a 1x1
//! stride-1 conv is one gemm, a depthwise conv a direct per-channel loop, everything else a tiled
//! im2col; its gemms are multi-threaded only above 192³ multiply-adds, which leaves most of these
//! small layers on one core, and bias, activation, concatenation and residual adds are separate
//! passes. `unsee bench --layers` measures both forms.

use std::cell::Cell;

use burn::nn::Linear;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::{Device, Tensor};

pub use super::cpu_kernels::Act;
use super::cpu_kernels::{
    self, ChannelSlice, Dense, DenseShape, DepthwiseShape, Elements, Epilogue, GemmConv, Part,
    Pointwise, tensor_from,
};

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

/// A convolution and its activation: on burn's CPU backend one fused kernel, on any other device
/// the module's own forward pass.
pub fn conv(x: Tensor<4>, conv: &Conv2d, act: Act) -> Tensor<4> {
    fused(x, &[conv], act, None)
}

/// `act(conv(x) + residual)` (MobileNetV2's projections add their block's input), the add fused
/// into the convolution's epilogue on the CPU backend.
pub fn conv_residual(x: Tensor<4>, conv: &Conv2d, act: Act, residual: Tensor<4>) -> Tensor<4> {
    fused(x, &[conv], act, Some(residual))
}

/// The convolutions `convs` of the same input, each followed by `act`, concatenated on channels
/// (a Fire module's two expands): on the CPU backend each writes its own channels of one output.
pub fn conv_cat(x: Tensor<4>, convs: &[&Conv2d], act: Act) -> Tensor<4> {
    fused(x, convs, act, None)
}

/// The reference: the module's own forward pass, then the activation (what the GPU runs).
pub fn reference(x: Tensor<4>, conv: &Conv2d, act: Act) -> Tensor<4> {
    act.apply(conv.forward(x))
}

/// The convolutions of `x` concatenated on channels, each `act(conv(x) + residual)`.
fn fused(x: Tensor<4>, convs: &[&Conv2d], act: Act, residual: Option<Tensor<4>>) -> Tensor<4> {
    if lowered(&x)
        && let Some(y) = kernels(&x, convs, act, residual.as_ref())
    {
        return y;
    }
    let mut outs: Vec<Tensor<4>> = convs
        .iter()
        .map(|c| match &residual {
            // Bias, then the residual, then the activation: the order the kernels use.
            Some(r) => act.apply(c.forward(x.clone()) + r.clone()),
            None => reference(x.clone(), c, act),
        })
        .collect();
    if outs.len() == 1 {
        outs.pop().unwrap_or(x)
    } else {
        Tensor::cat(outs, 1)
    }
}

/// Whether one of the fused kernels runs `conv` on `[c, h, w]` images (else the module's own
/// forward pass does, on the CPU backend too).
pub fn has_kernel(conv: &Conv2d, input: [usize; 3]) -> bool {
    kind(conv, input).is_some()
}

/// What a convolution module asks for, in the form one of the kernels takes.
enum Kind {
    /// 1x1, stride 1, no padding, groups 1.
    Pointwise,
    /// groups 1, anything else.
    Dense(DenseShape),
    /// 3x3, one group per channel, stride 1 or 2.
    Depthwise(DepthwiseShape),
}

/// The kernel for `conv` on `[c, h, w]` images, and its output size; `None` for a shape no
/// kernel covers (dilation, other groupings, "same" padding).
fn kind(conv: &Conv2d, [c, h, w]: [usize; 3]) -> Option<(Kind, usize, [usize; 2])> {
    let [m, per_group, kh, kw] = conv.weight.dims();
    let [sh, sw] = conv.stride;
    let (t, l, b, r) = match conv.padding {
        PaddingConfig2d::Explicit(t, l, b, r) => (t, l, b, r),
        PaddingConfig2d::Valid => (0, 0, 0, 0),
        PaddingConfig2d::Same => return None,
    };
    if conv.dilation != [1, 1] || sh == 0 || sw == 0 || h + t + b < kh || w + l + r < kw {
        return None;
    }
    let out = [(h + t + b - kh) / sh + 1, (w + l + r - kw) / sw + 1];
    if conv.groups == 1 && per_group == c {
        if [kh, kw, sh, sw, t, l, b, r] == [1, 1, 1, 1, 0, 0, 0, 0] {
            return Some((Kind::Pointwise, m, out));
        }
        let shape = DenseShape {
            c,
            h,
            w,
            m,
            kernel: [kh, kw],
            stride: [sh, sw],
            pad: [t, l],
            out,
        };
        return Some((Kind::Dense(shape), m, out));
    }
    let depthwise = conv.groups == c && m == c && per_group == 1;
    if depthwise && [kh, kw] == [3, 3] && sh == sw && (sh == 1 || sh == 2) {
        let shape = DepthwiseShape {
            c,
            h,
            w,
            stride: sh,
            pad: [t, l],
            out,
        };
        return Some((Kind::Depthwise(shape), m, out));
    }
    None
}

/// Runs `convs` on `x` with the fused kernels into one output; `None` when a shape or tensor is
/// outside what they cover (the caller falls back to the modules).
fn kernels(
    x: &Tensor<4>,
    convs: &[&Conv2d],
    act: Act,
    residual: Option<&Tensor<4>>,
) -> Option<Tensor<4>> {
    let [n, c, h, w] = x.dims();
    let kinds = convs
        .iter()
        .map(|conv| kind(conv, [c, h, w]))
        .collect::<Option<Vec<_>>>()?;
    let out = kinds.first()?.2;
    if kinds.iter().any(|k| k.2 != out) {
        return None;
    }
    let channels: usize = kinds.iter().map(|k| k.1).sum();
    let pixels = out[0] * out[1];
    let input = Elements::of(x)?;
    let residual = match residual {
        Some(r) if convs.len() == 1 && r.dims() == [n, channels, out[0], out[1]] => {
            Some(Elements::of(r)?)
        }
        Some(_) => return None,
        None => None,
    };
    // Not zeroed here: each tile's thread touches its part first (a serial memset would also
    // pull every cache line to this core before the other threads write them).
    let len = n * channels * pixels;
    let mut y: Vec<f32> = Vec::with_capacity(len);
    // The weights and biases as flex holds them (views, no copies).
    let params = convs
        .iter()
        .map(|conv| {
            let weight = Elements::of(&conv.weight.val())?;
            let bias = match &conv.bias {
                Some(b) => Some(Elements::of(&b.val())?),
                None => None,
            };
            Some((weight, bias))
        })
        .collect::<Option<Vec<_>>>()?;
    let residual = residual.as_ref().map(Elements::slice);
    fn epilogue<'a>(
        bias: Option<&'a Elements>,
        act: Act,
        residual: Option<&'a [f32]>,
    ) -> Epilogue<'a> {
        Epilogue {
            bias: bias.map(Elements::slice),
            act,
            residual,
        }
    }
    let out_buf = &mut y.spare_capacity_mut()[..len];
    if let [(Kind::Depthwise(shape), _, _)] = kinds.as_slice() {
        let (weight, bias) = &params[0];
        cpu_kernels::depthwise(
            input.slice(),
            n,
            *shape,
            weight.slice(),
            out_buf,
            &epilogue(bias.as_ref(), act, residual),
        );
    } else {
        let mut first = 0;
        let mut parts = Vec::with_capacity(convs.len());
        for ((kind, m, _), (weight, bias)) in kinds.iter().zip(&params) {
            let conv = match *kind {
                Kind::Pointwise => GemmConv::Pointwise(Pointwise {
                    x: input.slice(),
                    n,
                    k: c,
                    pixels,
                    weight: weight.slice(),
                    m: *m,
                }),
                Kind::Dense(shape) => GemmConv::Dense(Dense {
                    x: input.slice(),
                    n,
                    shape,
                    weight: weight.slice(),
                }),
                Kind::Depthwise(_) => return None,
            };
            parts.push(Part {
                conv,
                slice: ChannelSlice { channels, first },
                epilogue: epilogue(bias.as_ref(), act, residual),
            });
            first += m;
        }
        // All the convolutions' tiles in one parallel loop (a Fire module's two expands).
        cpu_kernels::gemm_tiles(&parts, out_buf);
    }
    // SAFETY: the convolutions wrote channels [0, channels) of every image and pixel (their
    // channel slices tile the output, and each kernel writes all of its slice).
    unsafe { y.set_len(len) };
    Some(tensor_from(y, [n, channels, out[0], out[1]]))
}

/// A linear layer `x · W + b` (MobileNetV2's classifier): on burn's CPU backend its output
/// columns split over the threads (`cpu_kernels::linear`), elsewhere the module's forward.
pub fn linear(x: Tensor<2>, linear: &Linear) -> Tensor<2> {
    if is_lowered()
        && x.device() == Device::flex()
        && let Some(y) = linear_kernel(&x, linear)
    {
        return y;
    }
    linear.forward(x)
}

fn linear_kernel(x: &Tensor<2>, linear: &Linear) -> Option<Tensor<2>> {
    let [n, d_in] = x.dims();
    let [w_in, d_out] = linear.weight.dims();
    if w_in != d_in {
        return None;
    }
    let input = Elements::of(x)?;
    let weight = Elements::of(&linear.weight.val())?;
    let bias = match &linear.bias {
        Some(b) => Some(Elements::of(&b.val())?),
        None => None,
    };
    let len = n * d_out;
    let mut y: Vec<f32> = Vec::with_capacity(len);
    cpu_kernels::linear(
        input.slice(),
        n,
        weight.slice(),
        d_out,
        bias.as_ref().map(Elements::slice),
        &mut y.spare_capacity_mut()[..len],
    );
    // SAFETY: the kernel wrote every element (its column blocks cover every row).
    unsafe { y.set_len(len) };
    Some(tensor_from(y, [n, d_out]))
}

/// Expanded activations (floats per image) from which a MobileNetV2 block runs as one fused
/// kernel: the early blocks, whose expanded tensor (1.2M floats in block 2) leaves the cache.
/// Below this it stays in cache anyway, and a band's halo rows would cost more than they save.
const FUSE_BLOCK_MIN: usize = 256 * 1024;

/// MobileNetV2's inverted residual block (`expand` absent when t = 1; ReLU6 after it and after
/// `depthwise`, none after `project`; `x` added back when `residual`) as one fused pass over
/// bands of rows on burn's CPU backend. `None` when the block is small, not on the CPU backend,
/// or of a shape the kernel does not take: the caller runs its layers one by one.
pub fn inverted_residual(
    x: &Tensor<4>,
    expand: Option<&Conv2d>,
    depthwise: &Conv2d,
    project: &Conv2d,
    residual: bool,
) -> Option<Tensor<4>> {
    if !lowered(x) {
        return None;
    }
    let [n, c, h, w] = x.dims();
    let hidden = match expand {
        Some(e) => match kind(e, [c, h, w])? {
            (Kind::Pointwise, m, _) => m,
            _ => return None,
        },
        None => c,
    };
    if hidden * h * w < FUSE_BLOCK_MIN || depthwise.padding != PaddingConfig2d::Explicit(1, 1, 1, 1)
    {
        return None;
    }
    let (Kind::Depthwise(dw), _, out) = kind(depthwise, [hidden, h, w])? else {
        return None;
    };
    let (Kind::Pointwise, cout, _) = kind(project, [hidden, out[0], out[1]])? else {
        return None;
    };
    let shape = cpu_kernels::BlockShape {
        n,
        cin: c,
        h,
        w,
        hidden,
        cout,
        stride: dw.stride,
    };
    if shape.out() != out || (residual && (dw.stride != 1 || cout != c)) {
        return None;
    }
    let input = Elements::of(x)?;
    let params = |conv: &Conv2d| -> Option<(Elements, Option<Elements>)> {
        let bias = match &conv.bias {
            Some(b) => Some(Elements::of(&b.val())?),
            None => None,
        };
        Some((Elements::of(&conv.weight.val())?, bias))
    };
    let expand = expand.map(params);
    let expand = match expand {
        Some(e) => Some(e?),
        None => None,
    };
    let (depthwise, project) = (params(depthwise)?, params(project)?);
    fn weights((w, b): &(Elements, Option<Elements>)) -> cpu_kernels::Weights<'_> {
        cpu_kernels::Weights {
            weight: w.slice(),
            bias: b.as_ref().map(Elements::slice),
        }
    }
    let len = n * cout * out[0] * out[1];
    let mut y: Vec<f32> = Vec::with_capacity(len);
    cpu_kernels::inverted_residual(
        input.slice(),
        shape,
        cpu_kernels::BlockWeights {
            expand: expand.as_ref().map(weights),
            depthwise: weights(&depthwise),
            project: weights(&project),
        },
        residual,
        &mut y.spare_capacity_mut()[..len],
    );
    // SAFETY: the kernel wrote every element of the output (its bands cover every row).
    unsafe { y.set_len(len) };
    Some(tensor_from(y, [n, cout, out[0], out[1]]))
}

/// The worker threads the CPU kernels and flex's use (rayon's global pool).
pub fn threads() -> usize {
    rayon::current_num_threads()
}

/// Sizes the pool the CPU kernels and flex's run on, once, before the first CPU inference: one
/// thread per core (`UNSEE_THREADS` overrides, e.g. to compare with a tool pinned to N threads).
/// More threads than cores only adds switching; the pool's threads sleep between passes, so the
/// viewer's own threads keep their core when nothing is classified. Returns the pool's size.
pub fn init_threads() -> usize {
    static INIT: std::sync::Once = std::sync::Once::new();
    INIT.call_once(|| {
        let wanted = std::env::var("UNSEE_THREADS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
            .unwrap_or(1);
        // Fails only if the pool already exists (someone ran a rayon job first): keep that one,
        // and say so (its size may not be the one asked for).
        if let Err(e) = rayon::ThreadPoolBuilder::new()
            .num_threads(wanted)
            .thread_name(|i| format!("unsee-cpu-{i}"))
            .build_global()
        {
            log::warn!(
                "CPU thread pool already set up ({} threads, {wanted} wanted): {e}",
                rayon::current_num_threads()
            );
        }
    });
    threads()
}

/// Runs `f` (a whole forward pass) on the first of the pool's threads, the others held for its
/// layers' parallel loops (`cpu_kernels::team`), the caller waiting once. Inside the pool (passes
/// run side by side) it runs `f` right here.
pub fn on_pool<R: Send>(f: impl FnOnce() -> R + Send) -> R {
    if rayon::current_thread_index().is_some() {
        return f();
    }
    /// Puts the worker's own switch back when dropped, a panic in `f` included.
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            set_lowered(self.0);
        }
    }
    // The lowering switch is per thread: the worker runs with the caller's.
    let lowered = is_lowered();
    super::cpu_kernels::team::region(|| {
        let _restore = Restore(is_lowered());
        set_lowered(lowered);
        f()
    })
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

/// Max pooling: on the CPU backend the fused kernel (exact: a max has no rounding), elsewhere the
/// module's own forward.
pub fn max_pool(x: Tensor<4>, pool: &MaxPool2d) -> Tensor<4> {
    let unpadded = matches!(
        pool.padding,
        PaddingConfig2d::Valid | PaddingConfig2d::Explicit(0, 0, 0, 0)
    );
    let [n, c, h, w] = x.dims();
    let [kh, kw] = pool.kernel_size;
    let [sh, sw] = pool.stride;
    if !lowered(&x) || !unpadded || pool.dilation != [1, 1] || h < kh || w < kw || sh * sw == 0 {
        return pool.forward(x);
    }
    let Some(input) = Elements::of(&x) else {
        return pool.forward(x);
    };
    let oh = pool_len(h, kh, sh, pool.ceil_mode);
    let ow = pool_len(w, kw, sw, pool.ceil_mode);
    let len = n * c * oh * ow;
    let mut y: Vec<f32> = Vec::with_capacity(len);
    cpu_kernels::max_pool(
        input.slice(),
        n * c,
        [h, w],
        [kh, kw],
        [sh, sw],
        [oh, ow],
        &mut y.spare_capacity_mut()[..len],
    );
    // SAFETY: the kernel wrote every plane.
    unsafe { y.set_len(len) };
    tensor_from(y, [n, c, oh, ow])
}
