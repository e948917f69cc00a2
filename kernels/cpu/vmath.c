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

/* wk__f32_to_bf16 without the branch, so the loops vectorise. */
static inline uint16_t to_bf16(float x) {
  uint32_t u;
  memcpy(&u, &x, 4);
  uint32_t r = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16;
  uint32_t q = (u >> 16) | 0x0040u;
  return (uint16_t)((u & 0x7FFFFFFFu) > 0x7F800000u ? q : r);
}

WK_CLONES void wkcpu__split_bf16(const float *restrict x, uint16_t *restrict hi,
                                 uint16_t *restrict lo, int64_t n) {
  if (!lo) {
    for (int64_t i = 0; i < n; i++)
      hi[i] = to_bf16(x[i]);
    return;
  }
  for (int64_t i = 0; i < n; i++) {
    uint16_t h = to_bf16(x[i]);
    uint32_t hb = (uint32_t)h << 16;
    float hf;
    memcpy(&hf, &hb, 4);
    hi[i] = h;
    lo[i] = to_bf16(x[i] - hf);
  }
}
