/*
 * host/sampler.h — the flow-matching Euler sampler the host drives, one
 * transformer call per step (so progress and cancellation work between
 * steps), and the seeded noise it starts from.
 *
 * Sigmas follow the LTX-Video pipeline: linspace(1, 1/steps, steps), shifted
 * by mu (sigma' = e^mu / (e^mu + 1/sigma - 1)), with mu interpolated from the
 * latent sequence length (256 tokens -> 0.5, 4096 -> 1.15), then a final 0.
 * The transformer sees timestep = 1000 * sigma.
 */
#ifndef WH_SAMPLER_H
#define WH_SAMPLER_H

#include <stdint.h>

#define WH_SAMPLER_MAX_STEPS 1000

typedef struct wh_schedule {
  int steps;
  float sigmas[WH_SAMPLER_MAX_STEPS + 1]; /* steps + 1 entries, last is 0 */
} wh_schedule;

/* mu for a latent sequence of `tokens` (the LTX-Video linear rule). */
double wh_shift_mu(int64_t tokens);

/* Fills s for `steps` (1..WH_SAMPLER_MAX_STEPS) and shift mu. Returns 0 or
 * WARM_EINVAL. */
int wh_schedule_init(wh_schedule *s, int steps, double mu);

/* x += (sigma_next - sigma) * v over n elements. */
void wh_euler_step(float *x, const float *v, int64_t n, float sigma,
                   float sigma_next);

/* Classifier-free guidance in place: cond = uncond + g * (cond - uncond). */
void wh_guidance(float *cond, const float *uncond, int64_t n, float g);

/* Standard normal noise from a counter-based generator: element i depends
 * only on (seed, i), so the same seed gives the same bytes on any machine
 * and any thread split. */
void wh_noise(float *x, int64_t n, uint64_t seed);

#endif /* WH_SAMPLER_H */
