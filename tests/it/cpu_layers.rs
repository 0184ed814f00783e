//! The CPU lowering (`models::cpu_layers`) against the modules it replaces: every lowered layer
//! kind on random data, and every stage of both real models, lowered vs the modules' own forward
//! on burn's CPU backend. No GPU needed.

use burn::module::Param;
use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::nn::pool::MaxPool2dConfig;
use burn::tensor::{Device, Tensor, TensorData};
use unsee::models::cpu_layers::{self, Act};
use unsee::models::probe::Probe;
use unsee::models::{Classifier, ModelKind, Preset};

use crate::common;

/// Deterministic values in [-1, 1) (a xorshift stream).
fn noise(len: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

fn tensor<const D: usize>(shape: [usize; D], seed: u64) -> Tensor<D> {
    let len = shape.iter().product();
    Tensor::from_data(TensorData::new(noise(len, seed), shape), &Device::flex())
}

fn conv(cin: usize, cout: usize, k: usize, stride: usize, pad: usize, groups: usize) -> Conv2d {
    Conv2d {
        weight: Param::from_tensor(tensor([cout, cin / groups, k, k], 7 + cout as u64)),
        bias: Some(Param::from_tensor(tensor([cout], 11))),
        stride: [stride, stride],
        kernel_size: [k, k],
        dilation: [1, 1],
        groups,
        padding: PaddingConfig2d::Explicit(pad, pad, pad, pad),
    }
}

/// max |a − b| / max |b|.
fn relative_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let a = a.into_data().try_into_vec::<f32>().unwrap();
    let b = b.into_data().try_into_vec::<f32>().unwrap();
    let scale = b.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-12);
    let diff = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

#[test]
fn lowered_convolutions_equal_the_modules() {
    // (cin, cout, kernel, stride, padding, groups, input side, batch): the shapes of both models.
    let cases = [
        (64, 16, 1, 1, 0, 1, 56, 1),     // SqueezeNet squeeze
        (16, 64, 1, 1, 0, 1, 56, 1),     // expand 1x1
        (16, 64, 3, 1, 1, 1, 56, 1),     // expand 3x3
        (512, 1000, 1, 1, 0, 1, 14, 1),  // conv10
        (3, 64, 3, 2, 0, 1, 227, 1),     // SqueezeNet conv1
        (3, 32, 3, 2, 1, 1, 224, 1),     // MobileNetV2 stem
        (96, 96, 3, 2, 1, 96, 112, 1),   // depthwise, stride 2
        (144, 144, 3, 1, 1, 144, 56, 1), // depthwise
        (24, 144, 1, 1, 0, 1, 56, 1),    // expand
        (16, 64, 3, 1, 1, 1, 28, 3),     // a batch (occlusion maps classify batches)
        (64, 16, 1, 1, 0, 1, 28, 3),
        (32, 32, 3, 1, 1, 32, 7, 2), // depthwise, the smallest plane, a batch
        (8, 8, 3, 2, 1, 8, 15, 1),   // depthwise, stride 2 over an odd side (general path)
        (8, 8, 3, 1, 0, 8, 9, 1),    // depthwise, no padding (general path)
        (8, 8, 3, 2, 1, 8, 4, 1),    // depthwise, stride 2, tiny plane
        (5, 7, 3, 2, 1, 1, 9, 2),    // dense, stride 2, padding, odd sizes
        // dense 5x5, padding 2: at side 19 a 96-pixel tile ends one column into a row, a
        // segment lying wholly in the left padding for the first taps.
        (3, 5, 5, 1, 2, 1, 19, 1),
        (3, 5, 5, 1, 2, 1, 15, 2),
    ];
    for (i, &(cin, cout, k, stride, pad, groups, side, n)) in cases.iter().enumerate() {
        let module = conv(cin, cout, k, stride, pad, groups);
        // Every shape of both models runs on a fused kernel, not the module's fallback.
        assert!(
            cpu_layers::has_kernel(&module, [cin, side, side]),
            "case {i}"
        );
        let x = tensor([n, cin, side, side], 100 + i as u64);
        for act in [Act::Linear, Act::Relu, Act::Relu6] {
            let want = cpu_layers::reference(x.clone(), &module, act);
            let got = cpu_layers::conv(x.clone(), &module, act);
            let d = relative_diff(got, want);
            assert!(
                d <= 1e-4,
                "case {i} ({cin}->{cout} k{k} s{stride} p{pad} g{groups}, {act:?}): rel |Δ| {d:.2e}"
            );
        }
    }
}

#[test]
fn fused_concatenation_and_residual_equal_the_modules() {
    // A Fire module's two expands into one output, and a projection adding its block's input.
    let x = tensor([2, 16, 13, 13], 7);
    let (e1, e3) = (conv(16, 24, 1, 1, 0, 1), conv(16, 40, 3, 1, 1, 1));
    let want = Tensor::cat(
        vec![
            cpu_layers::reference(x.clone(), &e1, Act::Relu),
            cpu_layers::reference(x.clone(), &e3, Act::Relu),
        ],
        1,
    );
    let got = cpu_layers::conv_cat(x.clone(), &[&e1, &e3], Act::Relu);
    assert_eq!(got.dims(), [2, 64, 13, 13]);
    let d = relative_diff(got, want);
    assert!(d <= 1e-4, "concatenation: rel |Δ| {d:.2e}");

    assert!(cpu_layers::has_kernel(&e1, [16, 13, 13]) && cpu_layers::has_kernel(&e3, [16, 13, 13]));

    // Large enough to run on both threads.
    let x = tensor([2, 16, 40, 40], 9);
    let project = conv(16, 16, 1, 1, 0, 1);
    assert!(cpu_layers::has_kernel(&project, [16, 40, 40]));
    let residual = tensor([2, 16, 40, 40], 8);
    for act in [Act::Linear, Act::Relu6] {
        let want = act.apply(project.forward(x.clone()) + residual.clone());
        let got = cpu_layers::conv_residual(x.clone(), &project, act, residual.clone());
        let d = relative_diff(got, want);
        assert!(d <= 1e-4, "residual, {act:?}: rel |Δ| {d:.2e}");
    }
}

#[test]
fn fused_inverted_residual_blocks_equal_the_modules() {
    // (cin, expansion, cout, stride, side, batch): blocks large enough to be fused; odd sides
    // (a last band of one row, stride 2 over an odd row count), no expansion, a batch.
    let cases = [
        (24, 6, 24, 1, 56, 1),
        (16, 6, 24, 2, 57, 1),
        (32, 1, 16, 1, 112, 1),
        (24, 6, 24, 1, 53, 2),
        (24, 6, 32, 2, 56, 1),
    ];
    for (seed, &(cin, t, cout, stride, side, batch)) in cases.iter().enumerate() {
        let hidden = cin * t;
        let x = tensor([batch, cin, side, side], 100 + seed as u64);
        let expand = (t > 1).then(|| conv(cin, hidden, 1, 1, 0, 1));
        let depthwise = conv(hidden, hidden, 3, stride, 1, hidden);
        let project = conv(hidden, cout, 1, 1, 0, 1);
        let residual = stride == 1 && cin == cout;
        // Inside a forward pass's region (the pool's threads held together), as a model runs it.
        let fused = cpu_layers::on_pool(|| {
            cpu_layers::inverted_residual(&x, expand.as_ref(), &depthwise, &project, residual)
        })
        .unwrap_or_else(|| panic!("case {seed}: the block was not fused"));
        let mut y = x.clone();
        if let Some(e) = &expand {
            y = cpu_layers::reference(y, e, Act::Relu6);
        }
        let y = cpu_layers::reference(y, &depthwise, Act::Relu6);
        let mut want = cpu_layers::reference(y, &project, Act::Linear);
        if residual {
            want = want + x.clone();
        }
        let diff = relative_diff(fused, want);
        assert!(diff <= 1e-4, "case {seed}: relative difference {diff}");
    }
    // A small block is left to the layers (its expanded rows stay in cache).
    let small = tensor([1, 24, 14, 14], 9);
    let (e, d, p) = (
        conv(24, 144, 1, 1, 0, 1),
        conv(144, 144, 3, 1, 1, 144),
        conv(144, 24, 1, 1, 0, 1),
    );
    assert!(cpu_layers::inverted_residual(&small, Some(&e), &d, &p, true).is_none());
}

#[test]
fn lowered_linear_equals_the_module() {
    // MobileNetV2's classifier, and a batch with fewer columns than a tile.
    for (n, d_in, d_out) in [(1, 1280, 1000), (3, 64, 10), (2, 33, 130)] {
        let layer = burn::nn::Linear {
            weight: Param::from_tensor(tensor([d_in, d_out], 5 + d_out as u64)),
            bias: Some(Param::from_tensor(tensor([d_out], 6))),
        };
        let x = tensor([n, d_in], 8);
        let got = cpu_layers::on_pool(|| cpu_layers::linear(x.clone(), &layer));
        let diff = relative_diff(got, layer.forward(x));
        assert!(
            diff <= 1e-5,
            "{n}x{d_in} -> {d_out}: relative difference {diff}"
        );
    }
}

#[test]
fn lowered_max_pool_equals_the_module_exactly() {
    for ceil_mode in [true, false] {
        let pool = squeezenet_pool(ceil_mode);
        for side in [113, 56, 28, 15, 14] {
            let x = tensor([2, 5, side, side], side as u64);
            let want = pool.forward(x.clone());
            let got = cpu_layers::max_pool(x, &pool);
            assert_eq!(got.dims(), want.dims(), "side {side}, ceil {ceil_mode}");
            assert_eq!(
                got.into_data().try_into_vec::<f32>().unwrap(),
                want.into_data().try_into_vec::<f32>().unwrap(),
                "side {side}, ceil {ceil_mode}"
            );
        }
    }
}

/// SqueezeNet's pooling: 3x3, stride 2.
fn squeezenet_pool(ceil_mode: bool) -> burn::nn::pool::MaxPool2d {
    MaxPool2dConfig::new([3, 3])
        .with_strides([2, 2])
        .with_ceil_mode(ceil_mode)
        .init()
}

/// Keeps every stage's output.
#[derive(Default)]
struct Recorder(Vec<(String, Tensor<4>)>);

impl Probe for Recorder {
    fn stage(&mut self, name: &dyn std::fmt::Display, out: &Tensor<4>) {
        self.0.push((name.to_string(), out.clone()));
    }
}

#[test]
fn every_stage_of_both_models_equals_the_modules_forward() {
    let device = Device::flex();
    for kind in ModelKind::ALL {
        let model =
            Classifier::load(kind, Preset::Default, &common::models_dir(), &device).unwrap();
        let size = unsee::models::InputSpec::for_model(kind, Preset::Default).size as usize;
        let x = tensor([1, 3, size, size], 5).mul_scalar(60.0);
        let mut runs = Vec::new();
        for lowered in [false, true] {
            cpu_layers::set_lowered(lowered);
            let mut rec = Recorder::default();
            model.forward_probed(x.clone(), &mut rec);
            runs.push(rec.0);
        }
        cpu_layers::set_lowered(true);
        let (reference, lowered) = (&runs[0], &runs[1]);
        assert_eq!(reference.len(), lowered.len());
        // Both paths really ran (the switch reaches the pool thread a forward runs on): their
        // sums are ordered differently, so some stage differs in its last bits.
        let bits = |t: &Tensor<4>| t.clone().into_data().try_into_vec::<f32>().unwrap();
        assert!(
            reference
                .iter()
                .zip(lowered)
                .any(|((_, a), (_, b))| bits(a) != bits(b)),
            "{}: the lowered and the modules' forward gave identical bits",
            kind.name()
        );
        for ((name, want), (name2, got)) in reference.iter().zip(lowered) {
            assert_eq!(name, name2);
            let d = relative_diff(got.clone(), want.clone());
            assert!(d <= 1e-4, "{}/{name}: rel |Δ| {d:.2e}", kind.name());
        }
    }
}
