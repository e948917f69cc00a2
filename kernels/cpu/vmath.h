/*
 * vmath.h — vectorisable exp and the row kernels built on it (vmath.c).
 *
 * wkcpu__expf is a branch-free expf (Cody-Waite reduction by ln 2, degree-6
 * polynomial, exponent by bit arithmetic): within 2 ulp of expf over the
 * normal range, 0 below -87.3 (so -inf gives 0), +inf above 88.7. Written
 * inline so loops over arrays vectorise; vmath.c compiles those loops for
 * AVX-512, AVX2 and the baseline, picked at load time by the cpu
 * (target_clones), so the same machine always runs the same code.
 */
#ifndef WKCPU_VMATH_H
#define WKCPU_VMATH_H

#include <stdint.h>
#include <string.h>

static inline float wkcpu__expf(float x) {
  const float hi = 88.7f, lo = -87.3f;
  float xc = x > hi ? hi : (x < lo ? lo : x);
  /* Round to nearest by the 1.5 * 2^23 trick (vectorises everywhere). */
  float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  float r = xc - n * 0.693359375f; /* ln 2, high part (exact in n) */
  r = r - n * -2.12194440e-4f;     /* ln 2, low part */
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  int32_t e = (int32_t)n + 127;
  uint32_t bits = (uint32_t)e << 23;
  float s;
  memcpy(&s, &bits, 4);
  float v = p * s;
  v = x > hi ? __builtin_inff() : v;
  return x < lo ? 0.0f : v;
}

/* s[i] = exp(s[i] - m) for i < n; returns the sum (lane partials, fixed
 * order). */
float wkcpu__exp_shift_sum(float *s, int64_t n, float m);
/* y[i] = x[i] / (1 + exp(-2 k0 (x + k1 x^3))) (GELU-tanh). */
void wkcpu__gelu_tanh_v(const float *x, float *y, int64_t n);
/* y[i] = x[i] / (1 + exp(-x[i])). */
void wkcpu__silu_v(const float *x, float *y, int64_t n);
/* Sum of x[i]^2 in double (lane partials, fixed order). */
double wkcpu__sumsq(const float *x, int64_t n);
/* hi[i] = bf16(x[i]) rounded to nearest even (NaN kept quiet, as
 * wk__f32_to_bf16), and when lo is not NULL lo[i] = bf16(x[i] - hi[i]). */
void wkcpu__split_bf16(const float *x, uint16_t *hi, uint16_t *lo, int64_t n);

#endif
