/* activation.c — LeakyReLU, tanh, Snake/SnakeBeta (BigVGAN), clamps (and
 * log-clamp) and the STFT magnitude: elementwise ops. */
#include <math.h>

#include "cpu.h"

#define GRAIN ((int64_t)1 << 14)

typedef struct act_job {
  const float *x;
  float *y;
  float slope;
  int64_t L;
  const float *alpha, *beta;
  int logscale;
} act_job;

static void leaky_range(void *v, int64_t b, int64_t e, int tid) {
  const act_job *J = v;
  for (int64_t i = b; i < e; i++) {
    float x = J->x[i];
    J->y[i] = x >= 0.0f ? x : J->slope * x;
  }
}

static void tanh_range(void *v, int64_t b, int64_t e, int tid) {
  const act_job *J = v;
  for (int64_t i = b; i < e; i++)
    J->y[i] = tanhf(J->x[i]);
}

/* One task per channel row. */
static void snake_rows(void *v, int64_t c0, int64_t c1, int tid) {
  const act_job *J = v;
  for (int64_t c = c0; c < c1; c++) {
    float a = J->alpha[c], b = J->beta ? J->beta[c] : a;
    if (J->logscale) {
      a = expf(a);
      b = expf(b);
    }
    float inv = 1.0f / (b + 1e-9f);
    const float *x = J->x + c * J->L;
    float *y = J->y + c * J->L;
    for (int64_t i = 0; i < J->L; i++) {
      float s = sinf(x[i] * a);
      y[i] = x[i] + inv * (s * s);
    }
  }
}

typedef struct cl_job {
  const float *x;
  float *y;
  int64_t n;
  float lo, hi;
  int take_log;
} cl_job;

static void clamp_range(void *v, int64_t b, int64_t e, int tid) {
  const cl_job *J = v;
  for (int64_t i = b; i < e; i++) {
    float x = J->x[i];
    x = x < J->lo ? J->lo : x > J->hi ? J->hi : x;
    J->y[i] = J->take_log ? logf(x) : x;
  }
}

/* re rows [0, N), im rows [N, 2N): one contiguous range of N*T outputs. */
static void cabs_range(void *v, int64_t b, int64_t e, int tid) {
  const cl_job *J = v;
  for (int64_t i = b; i < e; i++) {
    float re = J->x[i], im = J->x[J->n + i];
    J->y[i] = sqrtf(re * re + im * im);
  }
}

int wkcpu_clamp(wk_ctx *c, const float *x, int64_t n, float lo, float hi,
                int take_log, float *y) {
  cl_job J = {x, y, n, lo, hi, take_log};
  wkcpu__parallel(c, n, GRAIN / 4, clamp_range, &J);
  return 0;
}

int wkcpu_complex_abs(wk_ctx *c, const float *x, int64_t N, int64_t T,
                      float *y) {
  cl_job J = {x, y, N * T, 0, 0, 0};
  wkcpu__parallel(c, N * T, GRAIN, cabs_range, &J);
  return 0;
}

int wkcpu_leaky_relu(wk_ctx *c, const float *x, int64_t n, float slope,
                     float *y) {
  act_job J = {x, y, slope, 0, NULL, NULL, 0};
  wkcpu__parallel(c, n, GRAIN, leaky_range, &J);
  return 0;
}

int wkcpu_tanh(wk_ctx *c, const float *x, int64_t n, float *y) {
  act_job J = {x, y, 0, 0, NULL, NULL, 0};
  wkcpu__parallel(c, n, GRAIN / 4, tanh_range, &J);
  return 0;
}

int wkcpu_snake(wk_ctx *c, const float *x, int64_t C, int64_t L, wk_w alpha,
                wk_w beta, int logscale, float *y) {
  act_job J = {x, y, 0, L, alpha.data, beta.data, logscale};
  wkcpu__parallel(c, C, GRAIN / (L ? L : 1) + 1, snake_rows, &J);
  return 0;
}
