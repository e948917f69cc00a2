/*
 * host/ltx2_int.h — the pieces of an LTX-2 job shared by host/ltx2_job.c
 * (the flow), host/ltx2_stage.c (one denoising stage) and host/ltx2_calls.c
 * (the component calls around the stages).
 */
#ifndef WH_LTX2_INT_H
#define WH_LTX2_INT_H

#include "ltx2_sched.h"
#include "memtrack.h"
#include "pipeline_int.h"
#include "warm/safetensors.h"

typedef struct lx_params {
  uint32_t frames, height, width, steps;
  double fps;
  uint64_t seed;
  wh_ltx2_guide vg, ag;
  const char *negative;
  double strength;
} lx_params;

typedef struct lx_wiring {
  wh_pipe_type type;
  wh_component *enc, *stage[2], *up, *dec, *aud;
  const char *adapter[2];
  warm_model_info dit, vae, aui;
} lx_wiring;

/* One modality's sampling state (token layout). */
typedef struct lx_mod {
  const char *name;              /* "video" / "audio" */
  int64_t n, c;                  /* tokens, token width */
  int axes;                      /* position axes: 3 or 1 */
  float *x, *clean, *mask, *pos; /* [n*c], [n*c], [n], [axes*n*2] */
  const warm_tensor *ctx[2];     /* positive, negative [S, E] */
} lx_mod;

typedef struct lx_job {
  wh_runtime *rt;
  wh_job_ctl *ctl;
  warm_error *err;
  lx_wiring w;
  lx_params q;
  wh_hbook hb;
  wh_memtrack mt;
  warm_st *noise; /* injected noise, or NULL */
  uint32_t T;     /* text tokens */
  json_t *used, *timings, *stages;
  float progress0, progress_span; /* of the current stage */
  int total_steps, steps_done;
} lx_job;

/* The passes of one step. */
enum { P_COND, P_UNCOND, P_PERT, P_ISO, P_MAX };

typedef struct lx_batch {
  int B, kind[P_MAX], at[P_MAX]; /* at[kind] = pass index or -1 */
  warm_perturbation pert[4];
  uint32_t n_pert;
} lx_batch;

typedef struct lx_stage {
  const char *label; /* "stage1" / "stage2" */
  wh_component *c;
  const char *adapter;
  const float *sigmas;
  int steps, guided;
  uint32_t height, width; /* pixel size of this stage */
} lx_stage;

/* ---- ltx2_stage.c ---- */

/* A fresh state: x = clean = initial (or zeros), mask 1; its host bytes. */
int lx_mod_init(lx_mod *m, const char *name, int64_t n, int64_t c, int axes,
                const float *initial, warm_error *err);
void lx_mod_free(lx_mod *m);
uint64_t lx_mod_bytes(int64_t n, int64_t c, int axes);

/* The passes a step runs for these guiders (guided 0: the conditional
 * one), with their perturbations. */
void lx_plan_batch(const wh_ltx2_guide *vg, const wh_ltx2_guide *ag, int guided,
                   int audio, lx_batch *b);

/* One stage: Euler over st->sigmas, each step's passes in one call. */
int lx_run_stage(lx_job *J, const lx_stage *st, lx_mod *v, lx_mod *a);

/* Notes the placement a component ran with in result.json. */
void lx_note_component(lx_job *J, wh_component *c, warm_placement u,
                       uint64_t streamed);

/* ---- ltx2_calls.c ---- */

/* The noise of one state: the injected tensor `name` [n, c], or the
 * seeded generator's stream k. */
int lx_draw_noise(lx_job *J, const char *name, int k, float *out, int64_t n,
                  int64_t c);
/* One run of component c with inputs `in`; the outputs stay in *a. */
int lx_call(lx_job *J, wh_component *c, const warm_job_shape *shape,
            warm_tensor *in, uint32_t n_in, warm_run_args *a,
            warm_placement *used);
/* The job's image at a stage's size as first-frame tokens [Hl*Wl, C], or
 * NULL without one. */
int lx_image_tokens(lx_job *J, const wh_job_params *p, uint32_t H, uint32_t W,
                    float **tokens);
/* The upsampler: grid [C, F, H, W] -> [C, F, 2H, 2W] (malloc'd). */
int lx_upsample(lx_job *J, const float *grid, int64_t F, int64_t H, int64_t W,
                float **out);
/* Runs a decoder-like component on one input, keeping the named output
 * (and `extra_name` into *extra when given). */
int lx_decode_one(lx_job *J, wh_component *c, const warm_tensor *in,
                  const char *out_name, warm_tensor *out, warm_tensor *extra,
                  const char *extra_name);

#endif /* WH_LTX2_INT_H */
