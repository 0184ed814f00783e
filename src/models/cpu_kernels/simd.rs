//! Loops compiled for AVX2 + FMA when the CPU has them. The release build targets baseline x86-64
//! (SSE2), so without this the compiler vectorizes our loops 4 floats wide at most.

/// Whether this CPU runs the AVX2 + FMA versions (detected once; the check is a cached load).
#[inline]
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Defines `fn $name(args)` running `$inner(args)` (or `$inner::<N>(args)`, a const-generic
/// instance) — an `#[inline(always)]` function, so its body is compiled inside each version —
/// built for AVX2 + FMA when the CPU has them, else for the baseline. The arithmetic is the same
/// either way (Rust forms no fused multiply-adds implicitly), so both versions give the same
/// bytes.
macro_rules! multiversion {
    ($(#[$meta:meta])* $vis:vis fn $name:ident => $inner:ident $(::<$konst:literal>)? ($($arg:ident: $ty:ty),* $(,)?)) => {
        $(#[$meta])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name($($arg: $ty),*) {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                unsafe fn fast($($arg: $ty),*) {
                    $inner $(::<$konst>)? ($($arg),*)
                }
                if $crate::models::cpu_kernels::simd::has_avx2() {
                    // SAFETY: the features `fast` is compiled for were just detected.
                    return unsafe { fast($($arg),*) };
                }
            }
            $inner $(::<$konst>)? ($($arg),*)
        }
    };
}
pub(crate) use multiversion;
