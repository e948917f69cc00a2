/*
 * vmath.c — the array kernels of vmath.h, one clone per vector width.
 */
#include "vmath.h"

#if defined(__x86_64__) && !defined(__SANITIZE_THREAD__) && !defined(__clang__)
#define WK_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define WK_CLONES
#endif

#define LANES 16

WK_CLONES float wkcpu__exp_shift_sum(float *s, int64_t n, float m) {
  float acc[LANES] = {0};
  int64_t i = 0;
  for (; i + LANES <= n; i += LANES)
    for (int l = 0; l < LANES; l++) {
      float e = wkcpu__expf(s[i + l] - m);
      s[i + l] = e;
      acc[l] += e;
    }
  for (; i < n; i++) {
    float e = wkcpu__expf(s[i] - m);
    s[i] = e;
    acc[0] += e;
  }
  float sum = 0.0f;
  for (int l = 0; l < LANES; l++)
    sum += acc[l];
  return sum;
}

WK_CLONES void wkcpu__gelu_tanh_v(const float *x, float *y, int64_t n) {
  const float k0 = 0.7978845608028654f, k1 = 0.044715f;
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    float z = k0 * (v + k1 * v * v * v);
    y[i] = v / (1.0f + wkcpu__expf(-2.0f * z));
  }
}

WK_CLONES void wkcpu__silu_v(const float *x, float *y, int64_t n) {
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    y[i] = v / (1.0f + wkcpu__expf(-v));
  }
}

WK_CLONES double wkcpu__sumsq(const float *x, int64_t n) {
  double acc[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int l = 0; l < 8; l++)
      acc[l] += (double)x[i + l] * x[i + l];
  for (; i < n; i++)
    acc[0] += (double)x[i] * x[i];
  double s = 0.0;
  for (int l = 0; l < 8; l++)
    s += acc[l];
  return s;
}
