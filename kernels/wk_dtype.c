/*
 * wk_dtype.c — the public host-side scalar conversions (the rounding itself
 * is in wk_internal.h, shared with the cpu kernels) and the 1-D RoPE table.
 */
#include <math.h>
#include <string.h>

#include "wk_internal.h"

uint16_t wk_f32_to_bf16(float x) {
  return wk__f32_to_bf16(x);
}

float wk_bf16_to_f32(uint16_t x) {
  return wk__bf16_to_f32(x);
}

uint8_t wk_f32_to_fp8(float x) {
  return wk__f32_to_fp8(x);
}

float wk_fp8_to_f32(uint8_t x) {
  return wk__fp8_to_f32(x);
}

void wk_rope_table_1d(const float *pos, int64_t T, int64_t D, double theta,
                      double factor, float *cos_out, float *sin_out) {
  if (!pos || !cos_out || !sin_out || T <= 0 || D <= 0 || D % 2 ||
      !(factor != 0.0))
    return;
  int64_t half = D / 2;
  for (int64_t t = 0; t < T; t++) {
    double p = (double)pos[t] / factor;
    for (int64_t i = 0; i < half; i++) {
      double inv = pow(theta, -2.0 * (double)i / (double)D);
      double ang = p * inv;
      float cv = (float)cos(ang), sv = (float)sin(ang);
      cos_out[t * D + i] = cos_out[t * D + i + half] = cv;
      sin_out[t * D + i] = sin_out[t * D + i + half] = sv;
    }
  }
}
