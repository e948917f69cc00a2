/*
 * dnnl.h — the oneDNN calls the cpu backend makes (dnnl.c).
 */
#ifndef WKCPU_DNNL_H
#define WKCPU_DNNL_H

#include <oneapi/dnnl/dnnl.h>
#include <stdint.h>

/* 1 when oneDNN's bf16 matmul runs natively here (AVX512-BF16 or AMX) and
 * WK_CPU_NO_DNNL is unset in the environment (benchmarks set it to measure
 * the OpenBLAS paths). */
int wkcpu__dnnl_bf16(void);
/* dst[M, N] = src[M, K] . wei[N, K]^T (acc 0), or dst += that (acc 1: a
 * sum post-op, so the product is added in the kernel's epilogue); bf16
 * inputs (row strides K), f32 output (row stride ldd), on the calling
 * thread, with `scratch` (at least wkcpu__dnnl_scratch_bytes of the same
 * arguments, 64-byte aligned). 0 or -1. */
int wkcpu__dnnl_matmul_bf16(const uint16_t *src, int64_t M, int64_t K,
                            const uint16_t *wei, int64_t N, float *dst,
                            int64_t ldd, int acc, void *scratch,
                            size_t scratch_bytes);
/* Scratchpad bytes that matmul needs (0 when oneDNN is not used). */
size_t wkcpu__dnnl_scratch_bytes(int64_t M, int64_t K, int64_t N, int64_t ldd,
                                 int acc);
/* Row-major f32 GEMM on the calling thread: C = alpha op(A) op(B) + beta C
 * (oneDNN's sgemm; OpenBLAS when it fails or WK_CPU_NO_DNNL is set). The
 * caller keeps dimensions within the BLAS int range. */
void wkcpu__sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc);
/* The cpu engine (NULL when oneDNN is not used, as for
 * wkcpu__dnnl_bf16) and the calling thread's stream on it (created on first
 * use, the thread's OpenMP count set to 1; NULL on failure). */
dnnl_engine_t wkcpu__dnnl_engine(void);
dnnl_stream_t wkcpu__dnnl_stream(void);
/* Executes primitive p (src, weights, dst, and a caller scratchpad of
 * scratch_bytes, none when 0) on the calling thread's stream and waits.
 * 0 or -1. */
int wkcpu__dnnl_run(dnnl_primitive_t p, const dnnl_memory_desc_t *src_md,
                    const void *src, const dnnl_memory_desc_t *wei_md,
                    const void *wei, const dnnl_memory_desc_t *dst_md,
                    void *dst, void *scratch, size_t scratch_bytes);
/* Frees the cached primitives (when the last cpu context goes). */
void wkcpu__dnnl_release(void);
/* The same for the convolution primitives (conv3d_dnnl.c). */
void wkcpu__conv_dnnl_release(void);

#endif
