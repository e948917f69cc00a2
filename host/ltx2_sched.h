/*
 * host/ltx2_sched.h — the LTX-2 sampler's arithmetic, exactly as
 * ltx-core / ltx-pipelines 1.0.0 compute it: sigma schedules, the token
 * layout and positions of both modalities, the initial noised state, image
 * conditioning by latent index, the multimodal guider, the x0 blend and the
 * Euler step, and the per-version defaults of the two-stage pipeline.
 *
 * Layouts (host f32, one batch item):
 *   video latent grid [C, F, H, W]  <->  tokens [N = F*H*W, C], token order
 *     f-major then h then w (patch size 1, ltx-core's VideoLatentPatchifier);
 *   audio latent [Z, T, M]  <->  tokens [T, Z*M], feature index z*M + m
 *     (AudioPatchifier: "b c t f -> b t (c f)").
 * Positions are per token and axis [start, end) bounds: video [3, N, 2] in
 * (seconds, pixels, pixels) after the causal fix; audio [1, T, 2] seconds.
 *
 * Pure functions of their arguments: no allocation unless said, no global
 * state, safe from any thread.
 */
#ifndef WH_LTX2_SCHED_H
#define WH_LTX2_SCHED_H

#include <stddef.h>
#include <stdint.h>

#define WH_LTX2_MAX_STEPS 1000
#define WH_LTX2_MAX_STG_BLOCKS 64

/* ---- sigma schedules ------------------------------------------------------ */

/* LTX2Scheduler().execute(steps, latent): `tokens` = F*H*W of the latent,
 * or 0 for "no latent" (4096 tokens, shift 2.05, what the two-stage pipeline
 * uses). Writes steps + 1 values (last 0) to sigmas, bit-equal to the
 * reference's f32 tensor. Its first value is not exactly 1 (0.99999994 for
 * 40 steps: the reference divides through a reciprocal). One step is
 * degenerate there: the stretch moves the only sigma to the terminal
 * ({0.1, 0} without a latent) or, for most token counts, divides 0 by 0
 * (NaN). Returns 0, or WARM_EINVAL when steps is outside
 * 1..WH_LTX2_MAX_STEPS, tokens < 0, or the schedule is not finite. */
int wh_ltx2_sigmas(int steps, int64_t tokens, float *sigmas);

/* The distilled lists: stage 1 of the distilled pipeline (9 values, 8
 * steps) and stage 2 of both two-stage pipelines (4 values, 3 steps). */
extern const float wh_ltx2_distilled_sigmas[9];
extern const float wh_ltx2_stage2_sigmas[4];

/* ---- layout and positions --------------------------------------------------- */

/* grid [C, F, H, W] -> tokens [F*H*W, C], and back. */
void wh_ltx2_video_patchify(const float *grid, int64_t C, int64_t F,
                            int64_t H, int64_t W, float *tokens);
void wh_ltx2_video_unpatchify(const float *tokens, int64_t C, int64_t F,
                              int64_t H, int64_t W, float *grid);
/* audio [Z, T, M] -> tokens [T, Z*M], and back. */
void wh_ltx2_audio_patchify(const float *lat, int64_t Z, int64_t T, int64_t M,
                            float *tokens);
void wh_ltx2_audio_unpatchify(const float *tokens, int64_t Z, int64_t T,
                              int64_t M, float *lat);

/* Video positions [3, F*H*W, 2] for a latent grid F x H x W, VAE scale
 * factors (time tc, space sc), fps: pixel bounds, causal fix on time
 * (start/end + 1 - tc, clamped at 0), time divided by (float)fps, as
 * VideoLatentTools.create_initial_state computes them in f32. The
 * reference then casts them to the pipeline's dtype (bf16 in its
 * pipelines); a caller matching a bf16 run rounds them itself. */
void wh_ltx2_video_positions(int64_t F, int64_t H, int64_t W, int tc, int sc,
                             double fps, float *pos);
/* Audio positions [1, T, 2] in seconds (AudioPatchifier's timings for its
 * defaults: 16 kHz, hop 160, latent downsample 4, causal, shift 0): token
 * t spans mel frames [max(4t - 3, 0), 4t + 1) times 160 / 16000, in f32.
 * Unlike the video's, the reference keeps these f32 in every pipeline. */
void wh_ltx2_audio_positions(int64_t T, float *pos);
/* Audio latent frames for a video of `frames` at fps:
 * round(frames / fps * 25) in doubles, halves to even as python's round
 * (AudioLatentShape.from_video_pixel_shape); -1 when fps is not a positive
 * finite number or the count is absurd. */
int64_t wh_ltx2_audio_frames(uint32_t frames, double fps);

/* ---- state ---------------------------------------------------------------------- */

/* GaussianNoiser with injected noise, over n tokens of width c:
 * s = m*scale; x = noise*s + x*(1 - s), m the token's denoise mask. */
void wh_ltx2_noise_state(float *x, const float *noise, const float *mask,
                         int64_t n, int64_t c, float scale);

/* VideoConditionByLatentIndex(latent_idx 0): the image latent's tokens
 * [n_img, C] replace the first n_img tokens of x and of clean, and their
 * denoise mask becomes (float)(1 - strength), the difference taken in
 * double as the reference does. */
void wh_ltx2_condition_first_frame(float *x, float *clean, float *mask,
                                   const float *img_tokens, int64_t n_img,
                                   int64_t C, double strength);

/* Per-token timesteps [n] = mask * sigma. */
void wh_ltx2_timesteps(const float *mask, int64_t n, float sigma, float *out);

/* x0 from the transformer's velocity (X0Model, per token):
 * x0 = x - v * timestep. In place on v. */
void wh_ltx2_velocity_to_x0(float *v, const float *x, const float *ts,
                            int64_t n, int64_t c);

/* post_process_latent then EulerDiffusionStep.step, in f32:
 * x0 <- x0*m + clean*(1-m); x <- x + (x - x0)/sigma * (sigma_next - sigma).
 * x0 is overwritten. */
void wh_ltx2_euler(float *x, float *x0, const float *clean, const float *mask,
                   int64_t n, int64_t c, float sigma, float sigma_next);

/* ---- guidance -------------------------------------------------------------------- */

/* MultiModalGuiderParams of one modality. */
typedef struct wh_ltx2_guide {
  double cfg;      /* 1 = off */
  double stg;      /* 0 = off */
  double rescale;  /* 0 = off */
  double modality; /* 1 = off */
  int skip_step;   /* 0 = never skip */
  uint32_t stg_blocks[WH_LTX2_MAX_STG_BLOCKS];
  uint32_t n_stg_blocks;
} wh_ltx2_guide;

/* Which passes one modality's guider asks for (do_unconditional_generation
 * etc., with math.isclose): bits of WH_LTX2_PASS_*. The conditional pass is
 * always run. A step runs the union of both modalities' passes, each over
 * both modalities, and none when both guiders skip it. */
enum {
  WH_LTX2_PASS_COND = 1,
  WH_LTX2_PASS_UNCOND = 2,    /* negative contexts */
  WH_LTX2_PASS_PERTURBED = 4, /* STG: skip self-attention in stg_blocks */
  WH_LTX2_PASS_ISOLATED = 8,  /* skip a2v and v2a in every block */
};
unsigned wh_ltx2_guide_passes(const wh_ltx2_guide *g);
/* should_skip_step: step % (skip_step + 1) != 0; never when skip_step is
 * 0 (or negative, which job validation refuses). A modality that skips
 * keeps its previous guided x0. */
int wh_ltx2_guide_skips(const wh_ltx2_guide *g, int step);

/* MultiModalGuider.calculate over n values, in place on cond:
 * pred = ((c + (cfg-1)(c-u)) + stg(c-p)) + (mod-1)(c-i), each scale cast to
 * f32, then when rescale != 0 pred *= rescale*std(c)/std(pred) + (1-rescale)
 * (unbiased std over all n, accumulated in double, rounded to f32). u, p, i
 * may be NULL when their pass did not run: they then count as the
 * reference's 0.0 placeholder, so the term is scale*c, which is 0 when the
 * scale is exactly off. */
void wh_ltx2_guide_apply(const wh_ltx2_guide *g, float *cond, const float *u,
                         const float *p, const float *i, int64_t n);

/* ---- per-version defaults ------------------------------------------------------- */

typedef struct wh_ltx2_defaults {
  int steps;            /* 40 (2.0) / 30 (2.3) */
  uint32_t frames, height, width; /* 121, 1024, 1536 */
  double fps;           /* 24 */
  uint64_t seed;        /* 10 */
  wh_ltx2_guide video, audio;
  double image_strength; /* 1.0: warmd's; the reference has no default */
  const char *negative_prompt; /* DEFAULT_NEGATIVE_PROMPT */
} wh_ltx2_defaults;

/* The two-stage pipeline's defaults for a checkpoint's model_version, as
 * detect_params picks them: a version starting with "2.3" gets 2.3's
 * (30 steps, stg block 28), anything else, NULL included, 2.0's. */
void wh_ltx2_defaults_for(const char *model_version, wh_ltx2_defaults *d);

#endif /* WH_LTX2_SCHED_H */
