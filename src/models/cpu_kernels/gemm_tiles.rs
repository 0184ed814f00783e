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
