/* host/sampler.c — flow-matching Euler schedule, guidance and seeded noise. */
#include "sampler.h"

#include <math.h>

#include "warm/plugin.h"

double wh_shift_mu(int64_t tokens) {
  const double x1 = 256, y1 = 0.5, x2 = 4096, y2 = 1.15;
  double m = (y2 - y1) / (x2 - x1);
  return (double)tokens * m + (y1 - m * x1);
}

int wh_schedule_init(wh_schedule *s, int steps, double mu) {
  if (steps < 1 || steps > WH_SAMPLER_MAX_STEPS || !isfinite(mu))
    return WARM_EINVAL;
  s->steps = steps;
  const double em = exp(mu);
  for (int i = 0; i < steps; i++) {
    /* linspace(1, 1/steps, steps) */
    double sig = steps == 1 ? 1.0
                            : 1.0 + (1.0 / steps - 1.0) * i / (steps - 1.0);
    s->sigmas[i] = (float)(em / (em + (1.0 / sig - 1.0)));
  }
  s->sigmas[steps] = 0.0f;
  return 0;
}

void wh_euler_step(float *x, const float *v, int64_t n, float sigma,
                   float sigma_next) {
  const float dt = sigma_next - sigma;
  for (int64_t i = 0; i < n; i++) x[i] += dt * v[i];
}

void wh_guidance(float *cond, const float *uncond, int64_t n, float g) {
  for (int64_t i = 0; i < n; i++)
    cond[i] = uncond[i] + g * (cond[i] - uncond[i]);
}

/* splitmix64 finaliser: a good 64-bit mix of a counter. */
static uint64_t mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* A uniform in (0, 1) from 53 random bits, never 0. */
static double unit(uint64_t bits) {
  return ((double)(bits >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

void wh_noise(float *x, int64_t n, uint64_t seed) {
  const uint64_t key = mix64(seed ^ 0x6a09e667f3bcc909ull);
  /* Box-Muller: pair p gives elements 2p and 2p+1. */
  for (int64_t p = 0; 2 * p < n; p++) {
    uint64_t a = mix64(key + 2 * (uint64_t)p), b = mix64(key + 2 * (uint64_t)p + 1);
    double r = sqrt(-2.0 * log(unit(a))), th = 6.283185307179586 * unit(b);
    x[2 * p] = (float)(r * cos(th));
    if (2 * p + 1 < n) x[2 * p + 1] = (float)(r * sin(th));
  }
}
