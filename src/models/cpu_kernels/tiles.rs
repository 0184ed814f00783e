//! Splitting a layer's output into tiles for the worker threads, running them, and the shared
//! output they write.

use std::mem::MaybeUninit;

use rayon::prelude::*;

/// One unit of parallel work: output channels `[m0, m1)` and output pixels `[p0, p1)` of image
/// `image`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    /// The image in the batch.
    pub image: usize,
    /// First output channel (of the convolution).
    pub m0: usize,
    /// One past the last output channel.
    pub m1: usize,
    /// First output pixel.
    pub p0: usize,
    /// One past the last output pixel.
    pub p1: usize,
}

/// Floats a tile's working set may hold (its output rows, or its im2col columns) to stay in a
/// core's L2 cache while the epilogue runs over it: 512 KiB.
pub const CACHE_FLOATS: usize = 128 * 1024;

/// Multiply-adds below which a layer runs on the calling thread alone, where waking the pool's
/// threads would cost more than the work. Set low: on the 2-core VM every threshold from 0 to
/// 2²⁰ measured the same within noise, and larger ones were slower (`unsee bench --only
/// infer-cpu`).
const PARALLEL_MIN: usize = 1 << 18;

/// Runs `f` on every item: over the threads when the layer's `work` (multiply-adds) is worth it
/// (the forward pass's team inside a region, else rayon's pool), else in order on this thread.
pub fn for_each<T: Sync>(items: &[T], work: usize, f: impl Fn(&T) + Sync + Send) {
    if work < PARALLEL_MIN {
        items.iter().for_each(f);
    } else if super::team::in_region() {
        super::team::for_each_index(items.len(), |i| f(&items[i]));
    } else {
        items.par_iter().for_each(f);
    }
}

/// Runs `f` on every `chunk`-long piece of `out` with its index, like [`for_each`]; `out` is not
/// yet initialised, and each piece is first touched by the thread that computes it.
pub fn for_each_chunk(
    out: &mut [MaybeUninit<f32>],
    chunk: usize,
    work: usize,
    f: impl Fn(usize, &mut [MaybeUninit<f32>]) + Sync + Send,
) {
    if chunk == 0 {
        return;
    }
    if work < PARALLEL_MIN {
        out.chunks_mut(chunk).enumerate().for_each(|(i, c)| f(i, c));
    } else if super::team::in_region() {
        let len = out.len();
        let shared = SharedOut::new(out);
        super::team::for_each_index(len.div_ceil(chunk), |i| {
            let at = i * chunk;
            // SAFETY: chunk `i` is claimed once, so no other reference covers it; `f` gets it
            // as not yet initialised, as `chunks_mut` would give it.
            let piece = unsafe { shared.uninit(at, chunk.min(len - at)) };
            f(i, piece);
        });
    } else {
        out.par_chunks_mut(chunk)
            .enumerate()
            .for_each(|(i, c)| f(i, c));
    }
}

/// Tiles covering an `[n, m, pixels]` output: pixel blocks of at most `max_pixels` (equal sizes,
/// multiples of 16 where possible), as many as a multiple of the threads where blocks of 64
/// pixels or more allow (3 tiles on 2 threads left one idle a third of the layer), and the
/// channels split too when that leaves a thread without a tile and `split_channels` allows it
/// (a dense conv does not: each channel block would build its columns again).
pub fn plan(
    n: usize,
    m: usize,
    pixels: usize,
    max_pixels: usize,
    threads: usize,
    split_channels: bool,
) -> Vec<Tile> {
    let threads = threads.max(1);
    let mut blocks = pixels.div_ceil(max_pixels.max(16)).max(1);
    // Smaller pixel blocks until every thread has work and they share it evenly, down to 64
    // pixels.
    while (n * blocks < threads || !(n * blocks).is_multiple_of(threads))
        && pixels.div_ceil(blocks + 1) >= 64
    {
        blocks += 1;
    }
    let pb = round_up(pixels.div_ceil(blocks.max(1)), 16)
        .min(pixels)
        .max(1);
    let pixel_blocks = pixels.div_ceil(pb);
    let mut channel_blocks = 1;
    if split_channels {
        while n * pixel_blocks * channel_blocks < threads && m.div_ceil(channel_blocks + 1) >= 16 {
            channel_blocks += 1;
        }
    }
    let mb = round_up(m.div_ceil(channel_blocks), 8).min(m).max(1);
    grid(n, m, mb, pixels, pb)
}

/// Every image's `m` channels in blocks of `mb` and `pixels` in blocks of `pb`, as tiles.
fn grid(n: usize, m: usize, mb: usize, pixels: usize, pb: usize) -> Vec<Tile> {
    let mut tiles = Vec::with_capacity(n * m.div_ceil(mb.max(1)) * pixels.div_ceil(pb.max(1)));
    for image in 0..n {
        for m0 in (0..m).step_by(mb.max(1)) {
            for p0 in (0..pixels).step_by(pb.max(1)) {
                tiles.push(Tile {
                    image,
                    m0,
                    m1: (m0 + mb).min(m),
                    p0,
                    p1: (p0 + pb).min(pixels),
                });
            }
        }
    }
    tiles
}

/// Output channels below which a 1x1 tile is split by pixels instead: a gemm of 8 or 16 rows
/// ran SqueezeNet's 128->16 squeeze at 55x55 in 0.105 ms on two threads, pixel blocks in 0.076.
const MIN_TILE_ROWS: usize = 24;

/// Tiles for a 1x1 convolution's `[n, m, pixels]` output: one per thread, split by output
/// channels with every pixel (the gemm runs best on long rows: splitting pixels into 80-column
/// blocks ran MobileNetV2's 14x14 layers no faster on two threads than on one), and by pixels too
/// only when a tile would not fit the cache; by pixels alone when the channels are few.
pub fn plan_channels(n: usize, m: usize, pixels: usize, threads: usize) -> Vec<Tile> {
    let per_image = threads.max(1).div_ceil(n.max(1));
    if m.div_ceil(per_image) < MIN_TILE_ROWS {
        // Few output channels (a Fire module's squeeze): every channel, pixel blocks.
        let blocks = per_image.max((m * pixels).div_ceil(CACHE_FLOATS));
        let pb = round_up(pixels.div_ceil(blocks), 16).min(pixels).max(1);
        return grid(n, m, m.max(1), pixels, pb);
    }
    let mb = round_up(m.div_ceil(per_image), 8).min(m).max(1);
    let pixel_blocks = (mb * pixels).div_ceil(CACHE_FLOATS).max(1);
    let pb = round_up(pixels.div_ceil(pixel_blocks), 16)
        .min(pixels)
        .max(1);
    grid(n, m, mb, pixels, pb)
}

fn round_up(v: usize, to: usize) -> usize {
    v.div_ceil(to) * to
}

/// The output buffer (not yet initialised), shared by the tiles that write disjoint parts of it:
/// the gemm writes through [`SharedOut::at`], and a tile reads back only what it has written.
#[derive(Clone, Copy)]
pub struct SharedOut<'a> {
    ptr: *mut f32,
    len: usize,
    /// Borrows the buffer for as long as this is used.
    buffer: std::marker::PhantomData<&'a mut [MaybeUninit<f32>]>,
}

// SAFETY: tiles write disjoint ranges (each `row` call below is for a range no other tile
// touches), and the buffer outlives the parallel loop that uses it.
unsafe impl Send for SharedOut<'_> {}
unsafe impl Sync for SharedOut<'_> {}

impl<'a> SharedOut<'a> {
    /// Shares `out` for one parallel loop.
    pub fn new(out: &'a mut [MaybeUninit<f32>]) -> Self {
        Self {
            ptr: out.as_mut_ptr().cast::<f32>(),
            len: out.len(),
            buffer: std::marker::PhantomData,
        }
    }

    /// A raw pointer to element `first` of a block of `rows` rows of `cols` elements, `stride`
    /// apart (a tile's rows, for the gemm), checked to lie inside the buffer.
    pub fn block(&self, first: usize, rows: usize, cols: usize, stride: usize) -> *mut f32 {
        let end = first + rows.saturating_sub(1) * stride + cols;
        assert!(
            rows == 0 || cols == 0 || end <= self.len,
            "output block ends at {end}, past {}",
            self.len
        );
        self.at(first)
    }

    /// A raw pointer to element `at` (for the gemm, which writes through strides).
    pub fn at(&self, at: usize) -> *mut f32 {
        assert!(at <= self.len, "output offset {at} past {}", self.len);
        // SAFETY: in bounds (checked above).
        unsafe { self.ptr.add(at) }
    }

    /// Elements `[at, at + len)`, not yet initialised.
    ///
    /// # Safety
    /// No other live reference may cover this range.
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn uninit(&self, at: usize, len: usize) -> &mut [MaybeUninit<f32>] {
        assert!(
            at + len <= self.len,
            "output piece {at}+{len} past {}",
            self.len
        );
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at).cast(), len) }
    }

    /// Elements `[at, at + len)`.
    ///
    /// # Safety
    /// No other live reference may cover this range (the caller's tile owns it), and every
    /// element in it has been written (by the tile's gemm).
    #[allow(clippy::mut_from_ref)]
    pub unsafe fn row(&self, at: usize, len: usize) -> &mut [f32] {
        assert!(
            at + len <= self.len,
            "output row {at}+{len} past {}",
            self.len
        );
        // SAFETY: in bounds (checked above); exclusive by the caller's contract.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.add(at), len) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiles_cover_every_output_once() {
        for &(n, m, pixels, max, threads, split) in &[
            (1, 64, 12769, 2048, 2, false),
            (1, 1000, 169, 131, 2, true),
            (3, 16, 784, 4096, 2, true),
            (21, 256, 196, 512, 16, true),
            (1, 1, 1, 16, 1, true),
        ] {
            let tiles = plan(n, m, pixels, max, threads, split);
            let mut seen = vec![0u8; n * m * pixels];
            for t in &tiles {
                assert!(t.p1 - t.p0 <= max.max(16) + 15);
                for c in t.m0..t.m1 {
                    for p in t.p0..t.p1 {
                        seen[(t.image * m + c) * pixels + p] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "{n} {m} {pixels}");
        }
        // A 27x27 dense layer: two equal pixel blocks on two threads, not three.
        let tiles = plan(1, 128, 729, 455, 2, false);
        assert_eq!(tiles.len(), 2, "{tiles:?}");
        // conv10 of SqueezeNet (1x1): one tile per thread, split by channels, every pixel.
        let tiles = plan_channels(1, 1000, 169, 2);
        assert_eq!(tiles.len(), 2, "{tiles:?}");
        assert!(tiles.iter().all(|t| t.p0 == 0 && t.p1 == 169), "{tiles:?}");
        // Channels and pixels of every plan_channels case covered once.
        for &(n, m, pixels, threads) in &[(1, 576, 196, 2), (3, 16, 3025, 2), (1, 1280, 12769, 4)] {
            let tiles = plan_channels(n, m, pixels, threads);
            let mut seen = vec![0u8; n * m * pixels];
            for t in &tiles {
                assert!((t.m1 - t.m0) * (t.p1 - t.p0) <= CACHE_FLOATS + 16 * m);
                for c in t.m0..t.m1 {
                    for p in t.p0..t.p1 {
                        seen[(t.image * m + c) * pixels + p] += 1;
                    }
                }
            }
            assert!(seen.iter().all(|&s| s == 1), "{n} {m} {pixels}");
        }
    }
}
