/*
 * dnnl.h — the oneDNN calls the cpu backend makes (dnnl.c).
 */
#ifndef WKCPU_DNNL_H
#define WKCPU_DNNL_H

#include <stdint.h>

/* 1 when oneDNN's bf16 matmul runs natively here (AVX512-BF16 or AMX) and
 * WK_CPU_NO_DNNL is unset in the environment. */
int wkcpu__dnnl_bf16(void);
/* dst[M, N] = src[M, K] . wei[N, K]^T, bf16 inputs (row strides K), f32
 * output (row stride N), on the calling thread, with `scratch` (at least
 * wkcpu__dnnl_scratch_bytes(M, K, N), 64-byte aligned). 0 or -1. */
int wkcpu__dnnl_matmul_bf16(const uint16_t *src, int64_t M, int64_t K,
                            const uint16_t *wei, int64_t N, float *dst,
                            void *scratch, size_t scratch_bytes);
/* Scratchpad bytes that matmul shape needs (0 when oneDNN is not used). */
size_t wkcpu__dnnl_scratch_bytes(int64_t M, int64_t K, int64_t N);
/* Frees the cached primitives (when the last cpu context goes). */
void wkcpu__dnnl_release(void);

#endif
