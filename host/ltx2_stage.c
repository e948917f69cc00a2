/*
 * host/ltx2_stage.c — one denoising stage of an LTX-2 job: the token state
 * of each modality, the guidance passes of a step planned and run as ONE
 * batched transformer call, the guider per modality and the Euler step.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ltx2_int.h"

/* ---- one modality's sampling state (token layout)
 * ---------------------------- */

void lx_mod_free(lx_mod *m) {
  free(m->x);
  free(m->clean);
  free(m->mask);
  free(m->pos);
  m->x = m->clean = m->mask = m->pos = NULL;
}

uint64_t lx_mod_bytes(int64_t n, int64_t c, int axes) {
  return sizeof(float) * (uint64_t)(2 * n * c + n + axes * n * 2);
}

/* Fresh state: x = clean = initial (or zeros), mask 1. */
int lx_mod_init(lx_mod *m, const char *name, int64_t n, int64_t c, int axes,
                const float *initial, warm_error *err) {
  memset(m, 0, sizeof *m);
  m->name = name;
  m->n = n;
  m->c = c;
  m->axes = axes;
  m->x = calloc((size_t)(n * c), sizeof(float));
  m->clean = calloc((size_t)(n * c), sizeof(float));
  m->mask = malloc(sizeof(float) * (size_t)n);
  m->pos = malloc(sizeof(float) * (size_t)(axes * n * 2));
  if (!m->x || !m->clean || !m->mask || !m->pos) {
    lx_mod_free(m);
    return warm_error_set(err, WARM_ENOMEM, "out of memory for %s tokens",
                          name);
  }
  if (initial) {
    memcpy(m->x, initial, sizeof(float) * (size_t)(n * c));
    memcpy(m->clean, initial, sizeof(float) * (size_t)(n * c));
  }
  for (int64_t i = 0; i < n; i++)
    m->mask[i] = 1.0f;
  return 0;
}

/* ---- one stage: Euler over the sigmas with batched guidance passes
 * ------------- */

void lx_plan_batch(const wh_ltx2_guide *vg, const wh_ltx2_guide *ag, int guided,
                   int audio, lx_batch *b) {
  memset(b, 0, sizeof *b);
  for (int k = 0; k < P_MAX; k++)
    b->at[k] = -1;
  unsigned bits = WH_LTX2_PASS_COND;
  if (guided) {
    bits |= wh_ltx2_guide_passes(vg);
    if (audio) bits |= wh_ltx2_guide_passes(ag);
  }
  static const unsigned flag[P_MAX] = {WH_LTX2_PASS_COND, WH_LTX2_PASS_UNCOND,
                                       WH_LTX2_PASS_PERTURBED,
                                       WH_LTX2_PASS_ISOLATED};
  for (int k = 0; k < P_MAX; k++)
    if (bits & flag[k]) {
      b->at[k] = b->B;
      b->kind[b->B++] = k;
    }
  if (b->at[P_PERT] >= 0) {
    /* An empty block list perturbs nothing, as in the reference. */
    if (wh_ltx2_guide_passes(vg) & WH_LTX2_PASS_PERTURBED && vg->n_stg_blocks)
      b->pert[b->n_pert++] = (warm_perturbation){
          (uint32_t)b->at[P_PERT], WARM_PERTURB_SKIP_VIDEO_SELF_ATTN,
          vg->stg_blocks, vg->n_stg_blocks};
    if (audio && wh_ltx2_guide_passes(ag) & WH_LTX2_PASS_PERTURBED &&
        ag->n_stg_blocks)
      b->pert[b->n_pert++] = (warm_perturbation){
          (uint32_t)b->at[P_PERT], WARM_PERTURB_SKIP_AUDIO_SELF_ATTN,
          ag->stg_blocks, ag->n_stg_blocks};
  }
  if (b->at[P_ISO] >= 0) {
    b->pert[b->n_pert++] = (warm_perturbation){
        (uint32_t)b->at[P_ISO], WARM_PERTURB_SKIP_A2V_CROSS_ATTN, NULL, 0};
    b->pert[b->n_pert++] = (warm_perturbation){
        (uint32_t)b->at[P_ISO], WARM_PERTURB_SKIP_V2A_CROSS_ATTN, NULL, 0};
  }
}

/* The five inputs of one modality for B passes; positions and contexts are
 * filled once, latents / timesteps / sigmas per step. */
typedef struct lx_inputs {
  warm_tensor t[5]; /* latent, timesteps, sigma, positions, context */
} lx_inputs;

static const char *const in_suffix[5] = {"latent", "timesteps", "sigma",
                                         "positions", "context"};

static uint64_t inputs_bytes(const lx_mod *m, int B) {
  const warm_tensor *cx = m->ctx[0];
  return sizeof(float) * (uint64_t)B *
         (uint64_t)(m->n * m->c + m->n + 1 + m->axes * m->n * 2 +
                    cx->shape[0] * cx->shape[1]);
}

static int inputs_make(lx_inputs *in, const lx_mod *m, const lx_batch *b,
                       char names[5][32], warm_error *err) {
  const int64_t B = b->B, S = m->ctx[0]->shape[0], E = m->ctx[0]->shape[1];
  int64_t s0[3] = {B, m->n, m->c}, s1[2] = {B, m->n}, s2[1] = {B},
          s3[4] = {B, m->axes, m->n, 2}, s4[3] = {B, S, E};
  const int64_t *shapes[5] = {s0, s1, s2, s3, s4};
  const int nd[5] = {3, 2, 1, 4, 3};
  memset(in, 0, sizeof *in);
  for (int k = 0; k < 5; k++) {
    snprintf(names[k], 32, "%s_%s", m->name, in_suffix[k]);
    if (warm_tensor_alloc(&in->t[k], names[k], WARM_F32, nd[k], shapes[k]))
      return warm_error_set(err, WARM_ENOMEM, "out of memory for %s inputs",
                            m->name);
  }
  const size_t pn = (size_t)(m->axes * m->n * 2), cn = (size_t)(S * E);
  for (int64_t p = 0; p < B; p++) {
    memcpy((float *)in->t[3].data + p * pn, m->pos, sizeof(float) * pn);
    const warm_tensor *cx = m->ctx[b->kind[p] == P_UNCOND ? 1 : 0];
    memcpy((float *)in->t[4].data + p * cn, cx->data, sizeof(float) * cn);
  }
  return 0;
}

static void inputs_step(lx_inputs *in, const lx_mod *m, int B, float sigma) {
  const size_t xn = (size_t)(m->n * m->c);
  for (int p = 0; p < B; p++) {
    memcpy((float *)in->t[0].data + p * xn, m->x, sizeof(float) * xn);
    wh_ltx2_timesteps(m->mask, m->n, sigma,
                      (float *)in->t[1].data + (size_t)p * m->n);
    ((float *)in->t[2].data)[p] = sigma;
  }
}

static void inputs_free(lx_inputs *in) {
  for (int k = 0; k < 5; k++)
    warm_tensor_free(&in->t[k]);
}

/* The guided x0 of one modality from the passes' velocities, into x0
 * [n*c] (v is overwritten). */
static void guided_x0(const lx_mod *m, const lx_batch *b, float *v,
                      const float *ts, const wh_ltx2_guide *g, int guided,
                      float *x0) {
  const int64_t xn = m->n * m->c;
  for (int p = 0; p < b->B; p++)
    wh_ltx2_velocity_to_x0(v + p * xn, m->x, ts, m->n, m->c);
  float *pass[P_MAX] = {0};
  for (int k = 0; k < P_MAX; k++)
    if (b->at[k] >= 0) pass[k] = v + b->at[k] * xn;
  if (guided)
    wh_ltx2_guide_apply(g, pass[P_COND], pass[P_UNCOND], pass[P_PERT],
                        pass[P_ISO], xn);
  memcpy(x0, pass[P_COND], sizeof(float) * (size_t)xn);
}

int lx_run_stage(lx_job *J, const lx_stage *st, lx_mod *v, lx_mod *a) {
  warm_error *err = J->err;
  const int audio = a->n > 0;
  lx_batch b;
  lx_plan_batch(&J->q.vg, &J->q.ag, st->guided, audio, &b);
  lx_inputs vin, ain;
  char vnames[5][32], anames[5][32];
  memset(&vin, 0, sizeof vin);
  memset(&ain, 0, sizeof ain);
  const uint64_t xn_v = (uint64_t)(v->n * v->c), xn_a = (uint64_t)(a->n * a->c);
  /* inputs + the plugin's velocities + last x0 (skip_step) + x0 scratch */
  uint64_t bytes = inputs_bytes(v, b.B) + (audio ? inputs_bytes(a, b.B) : 0) +
                   sizeof(float) * (uint64_t)b.B * (xn_v + xn_a) +
                   2 * sizeof(float) * (xn_v + xn_a);
  int rc = wh_hbook_add(&J->hb, bytes, err);
  if (rc) return rc;
  float *x0v = malloc(sizeof(float) * xn_v),
        *x0a = malloc(sizeof(float) * (xn_a ? xn_a : 1)),
        *lastv = malloc(sizeof(float) * xn_v),
        *lasta = malloc(sizeof(float) * (xn_a ? xn_a : 1));
  if (!x0v || !x0a || !lastv || !lasta) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto out;
  }
  if ((rc = inputs_make(&vin, v, &b, vnames, err)) ||
      (audio && (rc = inputs_make(&ain, a, &b, anames, err))))
    goto out;
  warm_tensor in[10];
  for (int k = 0; k < 5; k++) {
    in[k] = vin.t[k];
    if (audio) in[5 + k] = ain.t[k];
  }
  warm_job_shape shape = {J->T, J->q.frames, st->height, st->width,
                          (uint32_t)b.B};
  warm_placement used = 0;
  uint64_t streamed0 = J->ctl->streamed_bytes;
  int have_last = 0;
  for (int i = 0; i < st->steps; i++) {
    if (wh_pc_cancelled(J->ctl)) {
      rc = warm_error_set(err, WARM_ECANCELED, "cancelled at %s step %d",
                          st->label, i);
      goto out;
    }
    const float sigma = st->sigmas[i], next = st->sigmas[i + 1];
    if (st->guided && have_last && wh_ltx2_guide_skips(&J->q.vg, i) &&
        wh_ltx2_guide_skips(&J->q.ag, i)) {
      memcpy(x0v, lastv, sizeof(float) * xn_v);
      if (audio) memcpy(x0a, lasta, sizeof(float) * xn_a);
    } else {
      inputs_step(&vin, v, b.B, sigma);
      if (audio) inputs_step(&ain, a, b.B, sigma);
      warm_run_args ra;
      memset(&ra, 0, sizeof ra);
      ra.inputs = in;
      ra.n_inputs = audio ? 10 : 5;
      ra.perturbations = b.n_pert ? b.pert : NULL;
      ra.n_perturbations = b.n_pert;
      ra.adapter = st->adapter;
      rc = wh_pc_call(J->rt, st->c, &shape, &ra, J->ctl, &used, err);
      warm_tensor *vv = rc ? NULL : wh_pc_output(&ra, "video_velocity");
      warm_tensor *av =
          rc || !audio ? NULL : wh_pc_output(&ra, "audio_velocity");
      if (!rc && (!vv || vv->dtype != WARM_F32 ||
                  warm_tensor_numel(vv) != (int64_t)(b.B * xn_v) ||
                  (audio && (!av || av->dtype != WARM_F32 ||
                             warm_tensor_numel(av) != (int64_t)(b.B * xn_a)))))
        rc = warm_error_set(err, WARM_EFORMAT,
                            "stage %s returned no f32 \"video_velocity\"%s "
                            "shaped like its %d passes' latents",
                            st->c->name, audio ? "/\"audio_velocity\"" : "",
                            b.B);
      if (!rc) {
        guided_x0(v, &b, vv->data, vin.t[1].data, &J->q.vg, st->guided, x0v);
        if (audio)
          guided_x0(a, &b, av->data, ain.t[1].data, &J->q.ag, st->guided, x0a);
        memcpy(lastv, x0v, sizeof(float) * xn_v);
        if (audio) memcpy(lasta, x0a, sizeof(float) * xn_a);
        have_last = 1;
      }
      wh_pc_free_outputs(&ra);
      if (rc) goto out;
    }
    wh_ltx2_euler(v->x, x0v, v->clean, v->mask, v->n, v->c, sigma, next);
    if (audio)
      wh_ltx2_euler(a->x, x0a, a->clean, a->mask, a->n, a->c, sigma, next);
    J->steps_done++;
    wh_pc_progress(J->ctl, 0.05f + 0.85f * (float)J->steps_done /
                                       (float)J->total_steps);
  }
  lx_note_component(J, st->c, used, J->ctl->streamed_bytes - streamed0);
  json_t *o = json_object(), *sg = json_array();
  for (int i = 0; i <= st->steps; i++)
    json_array_append_new(sg, json_real(st->sigmas[i]));
  json_object_set_new(o, "component", json_string(st->c->name));
  json_object_set_new(o, "adapter",
                      st->adapter ? json_string(st->adapter) : json_null());
  json_object_set_new(o, "passes", json_integer(b.B));
  json_object_set_new(o, "steps", json_integer(st->steps));
  json_object_set_new(o, "sigmas", sg);
  json_object_set_new(o, "height", json_integer(st->height));
  json_object_set_new(o, "width", json_integer(st->width));
  json_object_set_new(J->stages, st->label, o);
out:
  inputs_free(&vin);
  inputs_free(&ain);
  free(x0v);
  free(x0a);
  free(lastv);
  free(lasta);
  wh_hbook_sub(&J->hb, bytes);
  return rc;
}

void lx_note_component(lx_job *J, wh_component *c, warm_placement u,
                       uint64_t streamed) {
  if (u) wh_pc_component_json(J->used, c, warm_placement_name(u), streamed);
}
