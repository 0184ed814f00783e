//! MobileNetV2's inverted residual block — 1x1 expand (ReLU6), 3x3 depthwise (ReLU6), 1x1 linear
//! projection, the block's input added back — as one pass over bands of output rows. Each band
//! expands only the input rows its depthwise rows reach (one row of halo each side) into a
//! per-thread scratch, filters them there, and projects straight into the output: the expanded
//! tensor (6x the block's input: 4.8 MB in block 2) never goes to memory. Unfused, the early
//! blocks were bound by writing and reading it back, and two threads sharing that bandwidth ran
//! them hardly faster than one.

use std::cell::RefCell;
use std::mem::MaybeUninit;

use super::ChannelSlice;
use super::depthwise::{DepthwiseShape, plane1_fast, plane2_fast};
use super::epilogue::{Act, Epilogue};
use super::gemm_tiles::tile_product;
use super::tiles::{CACHE_FLOATS, SharedOut, Tile};

/// The block's geometry over `[n, cin, h, w]` images; padding 1 for the 3x3 filter.
#[derive(Clone, Copy, Debug)]
pub struct BlockShape {
    /// Images.
    pub n: usize,
    /// Input channels.
    pub cin: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Expanded (hidden) channels: `cin` when the block has no expansion.
    pub hidden: usize,
    /// Output channels.
    pub cout: usize,
    /// The depthwise stride: 1 or 2.
    pub stride: usize,
}

impl BlockShape {
    /// Output `[height, width]`.
    pub fn out(&self) -> [usize; 2] {
        let s = self.stride;
        [(self.h + 2 - 3) / s + 1, (self.w + 2 - 3) / s + 1]
    }

    /// Multiply-adds of the whole block.
    pub fn work(&self) -> usize {
        let [oh, ow] = self.out();
        self.n
            * (self.h * self.w * self.hidden * self.cin + oh * ow * self.hidden * (9 + self.cout))
    }
}

/// A layer's weight and bias as flex holds them.
#[derive(Clone, Copy)]
pub struct Weights<'a> {
    /// `[m, k]` (1x1) or `[c, 9]` (depthwise).
    pub weight: &'a [f32],
    /// `[m]`.
    pub bias: Option<&'a [f32]>,
}

/// The block's layers: expand (absent when t = 1), depthwise, project.
#[derive(Clone, Copy)]
pub struct BlockWeights<'a> {
    /// `[hidden, cin]`.
    pub expand: Option<Weights<'a>>,
    /// `[hidden, 9]`.
    pub depthwise: Weights<'a>,
    /// `[cout, hidden]`.
    pub project: Weights<'a>,
}

thread_local! {
    /// Each worker's band scratch, kept between calls: the expanded rows, then the filtered ones.
    static BAND: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    /// The depthwise plane's own scratch.
    static PLANE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `out = project(relu6(depthwise(relu6(expand(x))))) (+ x when `residual`)` for `x`
/// `[n, cin, h, w]`, `out` `[n, cout, oh, ow]` (not yet initialised; every element is written).
pub fn inverted_residual(
    x: &[f32],
    shape: BlockShape,
    weights: BlockWeights,
    residual: bool,
    out: &mut [MaybeUninit<f32>],
) {
    let BlockShape {
        n,
        cin,
        h,
        w,
        hidden,
        cout,
        stride,
    } = shape;
    let [oh, ow] = shape.out();
    assert!(stride == 1 || stride == 2, "block stride {stride}");
    assert_eq!(x.len(), n * cin * h * w, "block input");
    assert_eq!(out.len(), n * cout * oh * ow, "block output");
    match weights.expand {
        Some(e) => assert_eq!(e.weight.len(), hidden * cin, "expand weight"),
        None => assert_eq!(hidden, cin, "a block without expansion filters its input"),
    }
    assert_eq!(
        weights.depthwise.weight.len(),
        hidden * 9,
        "depthwise weight"
    );
    assert_eq!(
        weights.project.weight.len(),
        cout * hidden,
        "project weight"
    );
    for (b, len) in [
        (weights.expand.and_then(|e| e.bias), hidden),
        (weights.depthwise.bias, hidden),
        (weights.project.bias, cout),
    ] {
        if let Some(b) = b {
            assert_eq!(b.len(), len, "bias of {len} channels");
        }
    }
    if residual {
        assert!(
            stride == 1 && cin == cout,
            "a residual keeps the block's shape"
        );
    }
    let bands = bands(shape, rayon::current_num_threads());
    let shared = SharedOut::new(out);
    let project = Epilogue {
        bias: weights.project.bias,
        act: Act::Linear,
        residual: residual.then_some(x),
    };
    super::tiles::for_each(&bands, shape.work(), |t| {
        BAND.with(|band| {
            let (expanded, filtered) = &mut *band.borrow_mut();
            band_pass(x, shape, weights, t, expanded, filtered);
            // The projection: `[cout, hidden] · [hidden, band pixels]`, into the output rows.
            let pixels = t.p1 - t.p0;
            let slice = ChannelSlice {
                channels: cout,
                first: 0,
            };
            tile_product(
                t,
                &shared,
                slice,
                oh * ow,
                cout,
                weights.project.weight,
                hidden,
                &filtered[..hidden * pixels],
                pixels,
                &project,
            );
        });
    });
}

/// The bands: output rows split so a band's expanded rows fit the cache (and every thread has two
/// bands or more), as tiles over all output channels (`p0..p1` whole rows).
fn bands(shape: BlockShape, threads: usize) -> Vec<Tile> {
    let [oh, ow] = shape.out();
    let s = shape.stride;
    // Expanded rows a band of `r` output rows needs: r·s + 1 (+1 at stride 1).
    let fits = |r: usize| (r * s + 3 - s) * shape.w * shape.hidden <= CACHE_FLOATS * 2;
    let mut rows = oh.div_ceil(2 * threads.max(1)).max(1);
    while rows > 1 && !fits(rows) {
        rows -= 1;
    }
    let mut tiles = Vec::new();
    for image in 0..shape.n {
        for oy0 in (0..oh).step_by(rows) {
            let oy1 = (oy0 + rows).min(oh);
            tiles.push(Tile {
                image,
                m0: 0,
                m1: shape.cout,
                p0: oy0 * ow,
                p1: oy1 * ow,
            });
        }
    }
    tiles
}

/// Expands (unless t = 1) and filters the input rows band `t` needs: `filtered` then holds
/// `[hidden, band pixels]`.
fn band_pass(
    x: &[f32],
    shape: BlockShape,
    weights: BlockWeights,
    t: &Tile,
    expanded: &mut Vec<f32>,
    filtered: &mut Vec<f32>,
) {
    let BlockShape {
        cin,
        h,
        w,
        hidden,
        stride: s,
        ..
    } = shape;
    let [_, ow] = shape.out();
    let (oy0, oy1) = (t.p0 / ow, t.p1 / ow);
    // Input rows [iy0, iy1) are under the band's filter (one row of padding above row 0).
    let iy0 = (oy0 * s).saturating_sub(1);
    let iy1 = ((oy1 - 1) * s + 2).min(h);
    let rows = iy1 - iy0;
    let image = &x[t.image * cin * h * w..(t.image + 1) * cin * h * w];
    // The source planes of the filter: the expanded rows, or the input's own.
    let (planes, plane_stride): (&[f32], usize) = match weights.expand {
        Some(e) => {
            // No clearing: the gemm below writes every element (a memset per band was 2% of
            // a forward pass).
            expanded.resize(hidden * rows * w, 0.0);
            let rhs = &image[iy0 * w..];
            // SAFETY: `expanded` holds `hidden` rows of `rows·w`; the weight is `[hidden, cin]`;
            // the input's `cin` rows of `rows·w` elements lie `h·w` apart within `image` (row
            // iy1 ≤ h ends its channel).
            assert!(cin == 0 || (cin - 1) * h * w + rows * w <= rhs.len());
            unsafe {
                super::gemm_tiles::gemm_rows(
                    hidden,
                    rows * w,
                    cin,
                    expanded.as_mut_ptr(),
                    rows * w,
                    e.weight.as_ptr(),
                    cin,
                    rhs.as_ptr(),
                    h * w,
                );
            }
            let act = Epilogue {
                bias: e.bias,
                act: Act::Relu6,
                residual: None,
            };
            for (ch, row) in expanded.chunks_exact_mut(rows * w).enumerate() {
                act.finish_row(row, ch, 0);
            }
            (expanded.as_slice(), rows * w)
        }
        None => (&image[iy0 * w..], h * w),
    };
    let pixels = (oy1 - oy0) * ow;
    // Every element is written by its channel's depthwise plane below.
    filtered.resize(hidden * pixels, 0.0);
    let band = DepthwiseShape {
        c: hidden,
        h: rows,
        w,
        stride: s,
        // Padded row 0 is input row iy0 − 1 + 1 − oy0·s: the padding row only for the top band.
        pad: [iy0 + 1 - oy0 * s, 1],
        out: [oy1 - oy0, ow],
    };
    let filter = Epilogue {
        bias: weights.depthwise.bias,
        act: Act::Relu6,
        residual: None,
    };
    PLANE.with(|scratch| {
        let mut scratch = scratch.borrow_mut();
        // The planes write their output as uninitialised memory; here it is already floats
        // (any f32 is a valid `MaybeUninit<f32>`, and `MaybeUninit<f32>` has `f32`'s layout).
        // SAFETY: the same memory, length and layout; only initialised values are written.
        let filtered = unsafe {
            std::slice::from_raw_parts_mut(
                filtered.as_mut_ptr().cast::<MaybeUninit<f32>>(),
                filtered.len(),
            )
        };
        for (ch, dst) in filtered.chunks_exact_mut(pixels).enumerate() {
            let src = &planes[ch * plane_stride..ch * plane_stride + rows * w];
            let taps: &[f32; 9] = weights.depthwise.weight[ch * 9..ch * 9 + 9]
                .try_into()
                .unwrap_or(&[0.0; 9]);
            if s == 1 {
                plane1_fast(src, band, taps, &mut scratch, dst, &filter, ch, 0);
            } else {
                plane2_fast(src, band, taps, &mut scratch, dst, &filter, ch, 0);
            }
        }
    });
}
