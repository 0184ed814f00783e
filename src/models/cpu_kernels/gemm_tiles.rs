//! Runs the gemm-tiled convolutions of one output (one layer, or a Fire module's two expands)
//! as one parallel loop over all their tiles: one hand-off between the threads per layer, and
//! the expands' tiles balanced together.

use std::mem::MaybeUninit;

use super::ChannelSlice;
use super::dense::Dense;
use super::epilogue::Epilogue;
use super::pointwise::Pointwise;
use super::tiles::{self, SharedOut, Tile};

/// A convolution computed as gemm tiles.
#[derive(Clone, Copy)]
pub enum GemmConv<'a> {
    /// 1x1, stride 1: the input used in place.
    Pointwise(Pointwise<'a>),
    /// Anything else with one group: im2col per tile.
    Dense(Dense<'a>),
}

impl GemmConv<'_> {
    fn check(&self, out_len: usize, slice: ChannelSlice) {
        match self {
            GemmConv::Pointwise(p) => p.check(out_len, slice),
            GemmConv::Dense(d) => d.check(out_len, slice),
        }
    }

    fn channels(&self) -> usize {
        match self {
            GemmConv::Pointwise(p) => p.m,
            GemmConv::Dense(d) => d.shape.m,
        }
    }

    fn work(&self) -> usize {
        match self {
            GemmConv::Pointwise(p) => p.work(),
            GemmConv::Dense(d) => d.work(),
        }
    }

    fn plan(&self, threads: usize) -> Vec<Tile> {
        match self {
            GemmConv::Pointwise(p) => p.plan(threads),
            GemmConv::Dense(d) => d.plan(threads),
        }
    }

    fn tile(&self, t: &Tile, shared: &SharedOut, slice: ChannelSlice, epilogue: &Epilogue) {
        match self {
            GemmConv::Pointwise(p) => p.tile(t, shared, slice, epilogue),
            GemmConv::Dense(d) => d.tile(t, shared, slice, epilogue),
        }
    }
}

/// One convolution of an output: what it computes, which channels it writes, what follows it.
pub struct Part<'a> {
    /// The convolution.
    pub conv: GemmConv<'a>,
    /// Its channels of the output.
    pub slice: ChannelSlice,
    /// Bias, activation, residual.
    pub epilogue: Epilogue<'a>,
}

/// Computes `parts` into `out` (`[n, channels, pixels]`, not yet initialised); together their
/// channel slices must cover it for every element to be written.
pub fn gemm_tiles(parts: &[Part], out: &mut [MaybeUninit<f32>]) {
    for part in parts {
        part.conv.check(out.len(), part.slice);
        let m = part.conv.channels();
        if let Some(bias) = part.epilogue.bias {
            assert_eq!(bias.len(), m, "bias of {m} channels");
        }
        // A residual is laid out like this convolution's own output: it must be the whole one.
        if part.epilogue.residual.is_some() {
            assert!(
                part.slice.first == 0 && part.slice.channels == m,
                "a residual needs the convolution's whole output"
            );
        }
    }
    let threads = rayon::current_num_threads();
    let tasks: Vec<(usize, Tile)> = parts
        .iter()
        .enumerate()
        .flat_map(|(i, part)| part.conv.plan(threads).into_iter().map(move |t| (i, t)))
        .collect();
    let work = parts.iter().map(|p| p.conv.work()).sum();
    let shared = SharedOut::new(out);
    tiles::for_each(&tasks, work, |(i, t)| {
        let part = &parts[*i];
        part.conv.tile(t, &shared, part.slice, &part.epilogue);
    });
}

/// One tile of a convolution as a matrix product, then its epilogue: output rows `[m0, m1)`,
/// pixels `[p0, p1)` of the tile = `lhs` (`[m1 − m0, k]`, the weight's rows) · `rhs` (`k` rows of
/// the tile's `p1 − p0` columns, `rhs_stride` apart), written into the convolution's channel
/// slice of the output (`pixels` per channel), then each row finished as its channel (`m`: the
/// convolution's channels, for the residual's layout).
#[allow(clippy::too_many_arguments)]
pub(super) fn tile_product(
    t: &Tile,
    shared: &SharedOut,
    slice: ChannelSlice,
    pixels: usize,
    m: usize,
    lhs: &[f32],
    k: usize,
    rhs: &[f32],
    rhs_stride: usize,
    epilogue: &Epilogue,
) {
    let (rows, cols) = (t.m1 - t.m0, t.p1 - t.p0);
    assert_eq!(lhs.len(), rows * k, "tile weight rows");
    assert!(
        k == 0 || (k - 1) * rhs_stride + cols <= rhs.len(),
        "tile columns past their input"
    );
    let first = (t.image * slice.channels + slice.first + t.m0) * pixels + t.p0;
    // SAFETY: `lhs` and `rhs` are read within their lengths (checked above) with the strides
    // given; the output block is checked by `SharedOut::block`, and this tile alone writes it.
    unsafe {
        gemm_rows(
            rows,
            cols,
            k,
            shared.block(first, rows, cols, pixels),
            pixels,
            lhs.as_ptr(),
            k,
            rhs.as_ptr(),
            rhs_stride,
        );
    }
    for (j, o) in (t.m0..t.m1).enumerate() {
        // SAFETY: this tile's row `o`, written by its gemm above and touched only here.
        let row = unsafe { shared.row(first + j * pixels, cols) };
        epilogue.finish_row(row, o, (t.image * m + o) * pixels + t.p0);
    }
}

/// `dst = lhs · rhs` on row-major blocks, on this thread (the tiles are the parallelism): `dst`
/// `m × n` with rows `dst_rows` apart, `lhs` `m × k` with rows `lhs_rows` apart, `rhs` `k × n`
/// with rows `rhs_rows` apart. The one call of the `gemm` crate (the same one flex makes).
///
/// # Safety
/// Every element those shapes and strides address lies inside its buffer, and no other thread
/// touches `dst`'s block meanwhile.
#[allow(clippy::too_many_arguments)]
pub(super) unsafe fn gemm_rows(
    m: usize,
    n: usize,
    k: usize,
    dst: *mut f32,
    dst_rows: usize,
    lhs: *const f32,
    lhs_rows: usize,
    rhs: *const f32,
    rhs_rows: usize,
) {
    // SAFETY: the caller's contract; `alpha` 0 with `read_dst` false: `dst` is only written.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            dst_rows as isize,
            false,
            lhs,
            1,
            lhs_rows as isize,
            rhs,
            1,
            rhs_rows as isize,
            0.0f32,
            1.0f32,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
