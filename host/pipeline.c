/*
 * host/pipeline.c — running one job: ledger-driven component calls, the
 * sampler loop, the memory timeline and the job's output files.
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "admission.h"
#include "crash.h"
#include "fsio.h"
#include "log.h"
#include "media.h"
#include "mp4.h"
#include "memtrack.h"
#include "sampler.h"
#include "wiring.h"
#include "warm/fault.h"


/* ---- small helpers ------------------------------------------------------------ */

double wh_pc_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The named component of the running runtime, or NULL. */
wh_component *wh_pc_find(wh_runtime *rt, const char *name) {
  wh_component *found = NULL;
  pthread_mutex_lock(&rt->lock);
  for (size_t i = 0; i < rt->n_components; i++)
    if (!strcmp(rt->components[i]->name, name)) found = rt->components[i];
  pthread_mutex_unlock(&rt->lock);
  return found;
}

int wh_pc_info(wh_component *c, warm_model_info *mi, warm_error *err) {
  const warm_plugin_desc *d = wh_plugin_desc(c->plugin);
  int (*info)(warm_instance *, warm_model_info *, warm_error *) =
      WARM_DESC_OPT(d, info);
  memset(mi, 0, sizeof *mi);
  mi->struct_size = sizeof *mi;
  if (!info)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "component %s: plugin %s does not report its model "
                          "facts (info(), ABI 1.1), so the pipeline cannot "
                          "wire it",
                          c->name, d->name);
  int rc = info(c->inst, mi, err);
  if (rc && err && !strstr(err->msg, c->name)) {
    char tmp[WARM_ERROR_MAX];
    snprintf(tmp, sizeof tmp, "%s", err->msg);
    warm_error_set(err, rc, "component %s: %s", c->name, tmp);
  }
  return rc;
}

/* ---- one ledger-driven component call ----------------------------------------- */

typedef struct call_ctx {
  wh_runtime *rt;
  wh_component *c;
  const warm_job_shape *shape;
  warm_run_args *args;
  warm_error *err;
  warm_placement used;
  wh_job_ctl *ctl; /* may be NULL */
} call_ctx;

static int estimate_total(wh_component *c, warm_placement p,
                          const warm_job_shape *shape, uint64_t *total,
                          warm_error *err) {
  const warm_plugin_desc *d = wh_plugin_desc(c->plugin);
  warm_place_req req = {p, c->stream_window, c->stream_source};
  warm_estimate e = {0};
  int rc = d->estimate(c->inst, &req, shape, &e, err);
  if (rc) return rc;
  *total = e.persistent + e.window + e.workspace;
  return 0;
}

/* Reserves the estimate of placement p; on refusal err names the budget. */
static int reserve(wh_component *c, warm_placement p,
                   const warm_job_shape *shape, warm_error *err) {
  uint64_t total;
  int rc = estimate_total(c, p, shape, &total, err);
  if (rc) return rc;
  return warm_ledger_reserve(c->dev->ledger, c->name, total, err);
}

/* Makes room on c's device by moving `auto` components that sit resident
 * there (other than c, of no higher priority) to stream, freeing their
 * device weights. Runs on the device's executor, which owns every component
 * of that device. Returns how many moved. */
static int demote_autos(wh_runtime *rt, wh_component *c) {
  wh_component *victims[64];
  size_t n = 0;
  pthread_mutex_lock(&rt->lock);
  for (size_t i = 0; i < rt->n_components && n < 64; i++) {
    wh_component *o = rt->components[i];
    if (o != c && o->dev == c->dev && o->placement == WARM_PLACE_AUTO &&
        o->active == WARM_PLACE_RESIDENT && o->state == WH_COMP_PLACED &&
        o->priority <= c->priority)
      victims[n++] = o;
  }
  pthread_mutex_unlock(&rt->lock);
  int moved = 0;
  for (size_t i = 0; i < n; i++) {
    warm_error e = {0};
    if (wh_component_place(rt, victims[i], WARM_PLACE_STREAM,
                           victims[i]->stream_window,
                           victims[i]->stream_source, &e) == 0) {
      wh_info("%s: moved to stream to make room for %s", victims[i]->name,
              c->name);
      moved++;
    }
  }
  return moved;
}

/* Counts run() failures in a row for /readyz: a cancelled call or one
 * refused for memory says nothing about the component's health. */
static void note_run(wh_runtime *rt, wh_component *c, int rc,
                     const warm_error *err) {
  if (rc == WARM_ECANCELED || rc == WARM_ENOSPACE || rc == WARM_ENOMEM) return;
  if (rc == 0) {
    __atomic_store_n(&c->run_failures, 0, __ATOMIC_RELAXED);
    return;
  }
  pthread_mutex_lock(&rt->lock);
  snprintf(c->run_error, sizeof c->run_error, "%s", err->msg);
  pthread_mutex_unlock(&rt->lock);
  __atomic_add_fetch(&c->run_failures, 1, __ATOMIC_RELAXED);
}

static int run_plugin(void *arg) {
  call_ctx *x = arg;
  const warm_plugin_desc *d = wh_plugin_desc(x->c->plugin);
  return d->run(x->c->inst, x->args, x->err);
}

/* The component faulted on its weights: it serves no more calls and
 * /readyz says so, until a reload or swap gives it a new instance. */
static void mark_broken(wh_runtime *rt, wh_component *c, const char *why) {
  pthread_mutex_lock(&rt->lock);
  c->state = WH_COMP_FAILED;
  snprintf(c->last_error, sizeof c->last_error, "%s", why);
  pthread_mutex_unlock(&rt->lock);
  __atomic_store_n(&c->broken, 1, __ATOMIC_RELEASE);
  wh_error("component %s failed: %s", c->name, why);
}

/* On the component's executor: resolve the placement, reserve, place if it
 * changed, run, drop the reservation. */
static int do_call(void *arg) {
  call_ctx *x = arg;
  wh_component *c = x->c;
  pthread_mutex_lock(&x->rt->lock);
  wh_comp_state state = c->state;
  warm_placement conf = c->placement, active = c->active;
  pthread_mutex_unlock(&x->rt->lock);
  if (__atomic_load_n(&c->broken, __ATOMIC_ACQUIRE) ||
      (state != WH_COMP_PLACED && conf != WARM_PLACE_AUTO))
    return warm_error_set(x->err, WARM_EINVAL,
                          "component %s is not serving (state %s): %s",
                          c->name, wh_comp_state_name(state), c->last_error);

  warm_placement want = conf == WARM_PLACE_AUTO ? WARM_PLACE_RESIDENT : active;
  int rc = reserve(c, want, x->shape, x->err);
  if (rc == WARM_ENOSPACE && conf == WARM_PLACE_AUTO) {
    /* Does not fit resident beside the others: stream, freeing the device
     * weights before the stream window is reserved. */
    if (active == WARM_PLACE_RESIDENT) {
      rc = wh_component_place(x->rt, c, WARM_PLACE_STREAM, c->stream_window,
                              c->stream_source, x->err);
      if (rc) return rc;
      active = WARM_PLACE_STREAM;
    }
    want = WARM_PLACE_STREAM;
    rc = reserve(c, want, x->shape, x->err);
  }
  /* Still no room: other `auto` components give their device weights up. */
  if (rc == WARM_ENOSPACE && demote_autos(x->rt, c) > 0)
    rc = reserve(c, want, x->shape, x->err);
  if (rc) {
    if (rc == WARM_ENOSPACE) {
      char tmp[WARM_ERROR_MAX];
      snprintf(tmp, sizeof tmp, "%s", x->err->msg);
      warm_error_set(x->err, rc, "component %s cannot run %s: %s", c->name,
                     warm_placement_name(want), tmp);
    }
    return rc;
  }
  if (want != active || state != WH_COMP_PLACED) {
    rc = wh_component_place(x->rt, c, want, c->stream_window,
                            c->stream_source, x->err);
    if (rc) {
      warm_ledger_reserve(c->dev->ledger, c->name, 0, NULL);
      return rc;
    }
  }
  /* The job's cancel flag, not 0: a cancel that came before this call
   * stops it at its first check. */
  __atomic_store_n(&c->cancelled,
                   x->ctl ? __atomic_load_n(&x->ctl->cancel, __ATOMIC_ACQUIRE)
                          : 0,
                   __ATOMIC_RELEASE);
  x->args->struct_size = sizeof *x->args;
  uint64_t faults = warm_fault_count();
  int faulted = 0;
  wh_crash_set_component(c->name);
  rc = wh_guarded_call(run_plugin, x, c->name, x->err, &faulted);
  wh_crash_set_component(NULL);
  /* A SIGBUS here or in the streamer's copy thread during this call. */
  if (rc && (faulted || warm_fault_count() != faults))
    mark_broken(x->rt, c, x->err->msg);
  note_run(x->rt, c, rc, x->err);
  if (rc == 0 && x->args->used_placement == 0) x->args->used_placement = want;
  x->used = rc == 0 ? x->args->used_placement : want;
  warm_ledger_reserve(c->dev->ledger, c->name, 0, NULL);
  return rc;
}

int wh_pc_call(wh_runtime *rt, wh_component *c,
                          const warm_job_shape *shape, warm_run_args *args,
                          wh_job_ctl *ctl, warm_placement *used,
                          warm_error *err) {
  call_ctx x = {rt, c, shape, args, err, 0, ctl};
  if (ctl) __atomic_store_n(&ctl->current, c, __ATOMIC_RELEASE);
  int rc = rt->live && c->dev->exec ? wh_executor_call(c->dev->exec, do_call, &x)
                                    : do_call(&x);
  if (ctl) __atomic_store_n(&ctl->current, NULL, __ATOMIC_RELEASE);
  if (rc == 0 && used) *used = x.used;
  if (rc == 0 && ctl)
    __atomic_add_fetch(&ctl->streamed_bytes, args->streamed_bytes,
                       __ATOMIC_RELAXED);
  return rc;
}

void wh_pc_free_outputs(warm_run_args *a) {
  for (uint32_t i = 0; i < a->n_outputs && i < WARM_MAX_IO; i++)
    warm_tensor_free(&a->outputs[i]);
  a->n_outputs = 0;
}

warm_tensor *wh_pc_output(warm_run_args *a, const char *name) {
  for (uint32_t i = 0; i < a->n_outputs && i < WARM_MAX_IO; i++)
    if (a->outputs[i].name && !strcmp(a->outputs[i].name, name))
      return &a->outputs[i];
  return NULL;
}

/* ---- a whole job ----------------------------------------------------------------- */

typedef struct wiring {
  wh_component *enc, *stages[WH_PIPELINE_MAX_STAGES], *dec;
  size_t n_stages;
  warm_model_info vae, dit[WH_PIPELINE_MAX_STAGES];
} wiring;

static int wire(wh_runtime *rt, wiring *w, warm_error *err) {
  memset(w, 0, sizeof *w);
  pthread_mutex_lock(&rt->lock);
  const wh_cfg_pipeline pl = rt->config ? rt->config->pipeline
                                        : (wh_cfg_pipeline){0};
  pthread_mutex_unlock(&rt->lock);
  if (!pl.present || !pl.encoder || !pl.decoder || pl.n_stages == 0)
    return warm_error_set(err, WARM_EINVAL,
                          "the configuration has no complete [pipeline] "
                          "(encoder, stages, decoder)");
  if (!(w->enc = wh_pc_find(rt, pl.encoder)) ||
      !(w->dec = wh_pc_find(rt, pl.decoder)))
    return warm_error_set(err, WARM_EINVAL,
                          "[pipeline] names a component that is not running");
  w->n_stages = pl.n_stages;
  for (size_t i = 0; i < pl.n_stages; i++)
    if (!(w->stages[i] = wh_pc_find(rt, pl.stages[i])))
      return warm_error_set(err, WARM_EINVAL,
                            "[pipeline] stage %s is not running",
                            pl.stages[i]);
  int rc = wh_pc_info(w->dec, &w->vae, err);
  for (size_t i = 0; rc == 0 && i < w->n_stages; i++)
    rc = wh_pc_info(w->stages[i], &w->dit[i], err);
  if (rc) return rc;
  if (!w->vae.latent_channels || !w->vae.temporal_compression ||
      !w->vae.spatial_compression)
    return warm_error_set(err, WARM_EINVAL,
                          "decoder %s reports no latent channels/compression",
                          w->dec->name);
  for (size_t i = 0; i < w->n_stages; i++)
    if (w->dit[i].latent_channels &&
        w->dit[i].latent_channels != w->vae.latent_channels)
      return warm_error_set(err, WARM_EINVAL,
                            "stage %s works on %u latent channels but decoder "
                            "%s decodes %u",
                            w->stages[i]->name, w->dit[i].latent_channels,
                            w->dec->name, w->vae.latent_channels);
  return 0;
}

int wh_pipeline_resolve(wh_runtime *rt, wh_job_params *p, warm_error *err) {
  /* The facts the last commit installed, not the components themselves: a
   * commit in progress (a swap between its old and new instance) must not
   * refuse a job, which runs after the commit anyway. */
  pthread_mutex_lock(&rt->lock);
  wh_pipe_facts f = rt->facts;
  wh_cfg_pipeline pl = rt->config ? rt->config->pipeline : (wh_cfg_pipeline){0};
  pthread_mutex_unlock(&rt->lock);
  return wh_wiring_check_job(&f, &pl, p, err);
}

/* Per-device peak and budget objects for result.json. */
void wh_pc_ledger_json(wh_runtime *rt, json_t *peak, json_t *budget) {
  pthread_mutex_lock(&rt->lock);
  for (size_t k = 0; k <= rt->n_devices; k++) {
    wh_device *d = k < rt->n_devices ? rt->devices[k] : rt->host;
    warm_ledger_stats st;
    warm_ledger_stats_get(d->ledger, &st);
    json_object_set_new(peak, d->name, json_integer((json_int_t)st.peak));
    json_object_set_new(budget, d->name, json_integer((json_int_t)st.budget));
  }
  pthread_mutex_unlock(&rt->lock);
}

void wh_pc_component_json(json_t *obj, wh_component *c, const char *used,
                           uint64_t streamed) {
  char dev[32];
  json_t *o = json_object();
  json_object_set_new(o, "streamed_bytes", json_integer((json_int_t)streamed));
  json_object_set_new(o, "placement", json_string(used));
  json_object_set_new(o, "device",
                      json_string(warm_device_name(c->dev->dev, dev, sizeof dev)));
  json_object_set_new(o, "dtype", json_string(warm_dtype_name(c->ccfg.dtype)));
  json_object_set_new(obj, c->name, o);
}

/* ---- the job's host memory ------------------------------------------------ */


int wh_hbook_add(wh_hbook *h, uint64_t bytes, warm_error *err) {
  if (!h->l || !bytes) return 0;
  int rc = warm_ledger_book(h->l, "jobs", WARM_MEM_WORKSPACE, bytes, err);
  if (rc == WARM_ENOSPACE) {
    char tmp[WARM_ERROR_MAX];
    snprintf(tmp, sizeof tmp, "%s", err->msg);
    warm_error_set(err, rc, "host memory ([host] memory_budget): %s", tmp);
  }
  if (rc == 0) h->n += bytes;
  return rc;
}

void wh_hbook_sub(wh_hbook *h, uint64_t bytes) {
  if (!h->l || !bytes) return;
  if (bytes > h->n) bytes = h->n;
  warm_ledger_release(h->l, "jobs", WARM_MEM_WORKSPACE, bytes);
  h->n -= bytes;
}

uint64_t wh_pipeline_host_bytes(const wh_pipe_facts *f, const wh_job_params *p) {
  if (!f->temporal_compression || !f->spatial_compression) return 0;
  const uint64_t C = f->latent_channels,
                 Fl = (p->frames - 1) / f->temporal_compression + 1,
                 Hl = p->height / f->spatial_compression,
                 Wl = p->width / f->spatial_compression;
  const uint64_t n = C * Fl * Hl * Wl, B = p->guidance > 1.0 ? 2 : 1,
                 T = f->max_tokens, Ce = f->embed_dim,
                 px = (uint64_t)p->height * p->width;
  uint64_t cond = T * Ce * 4 + T * 4;
  uint64_t denoise = n * 4 + B * n * 4 + B * T * Ce * 4 + B * T * 4 + 64 +
                     B * n * 4; /* x, latents, embeddings, mask, velocity */
  uint64_t decode = n * 4 + 3 * (uint64_t)p->frames * px * 4;
  uint64_t files = 2 * px + WH_SHEET_BOUND;
  return cond + denoise + decode + files;
}

int wh_pc_finish_result(wh_runtime *rt, json_t *r, json_t *timings,
                        json_t *used, int hit, const char *fp,
                        const char *out_dir, char **result_json,
                        warm_error *err) {
  json_t *peak = json_object(), *budget = json_object();
  wh_pc_ledger_json(rt, peak, budget);
  json_object_set(r, "timings", timings);
  json_object_set(r, "components", used);
  json_object_set_new(r, "cache_hit", json_boolean(hit));
  json_object_set_new(r, "encoder_fingerprint", json_string(fp));
  json_object_set_new(r, "peak_bytes", peak);
  json_object_set_new(r, "budget_bytes", budget);
  char *text = json_dumps(r, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(r);
  char path[4096];
  snprintf(path, sizeof path, "%s/result.json", out_dir);
  int rc = text ? wh_write_atomic(path, text, strlen(text), err)
                : warm_error_set(err, WARM_ENOMEM, "out of memory");
  if (rc == 0 && result_json)
    *result_json = text;
  else
    free(text);
  return rc;
}

int wh_pc_cancelled(wh_job_ctl *ctl) {
  return __atomic_load_n(&ctl->cancel, __ATOMIC_ACQUIRE);
}

void wh_pc_progress(wh_job_ctl *ctl, float f) {
  __atomic_store(&ctl->progress, &f, __ATOMIC_RELAXED);
}

int wh_pipeline_run(wh_runtime *rt, wh_embcache *cache, const char *job_id,
                    const wh_job_params *p, const char *out_dir,
                    wh_job_ctl *ctl, char **result_json, warm_error *err) {
  wiring w;
  wh_job_ctl own_ctl = {0};
  if (!ctl) ctl = &own_ctl;
  pthread_mutex_lock(&rt->lock);
  wh_pipe_type type = rt->config ? rt->config->pipeline.type : WH_PIPE_LTXV;
  pthread_mutex_unlock(&rt->lock);
  if (type != WH_PIPE_LTXV)
    return wh_ltx2_run(rt, cache, job_id, p, out_dir, ctl, result_json, err);
  int rc = wire(rt, &w, err);
  if (rc) return rc;
  /* Checked again now: a set or reload since the POST may have taken the
   * room; a job that cannot fit fails here, before any work. */
  if ((rc = wh_admission_check(rt, p, err))) return rc;
  if ((rc = wh_mkdir_p(out_dir, err))) return rc;
  const uint32_t tc = w.vae.temporal_compression, sc = w.vae.spatial_compression;
  const int64_t C = w.vae.latent_channels, Fl = (p->frames - 1) / tc + 1,
                Hl = p->height / sc, Wl = p->width / sc;
  const int64_t n = C * Fl * Hl * Wl;
  const int B = p->guidance > 1.0 ? 2 : 1;

  pthread_mutex_lock(&rt->lock);
  for (size_t k = 0; k < rt->n_devices; k++)
    warm_ledger_mark_reset(rt->devices[k]->ledger);
  warm_ledger_mark_reset(rt->host->ledger);
  const uint32_t fT = rt->facts.max_tokens, fCe = rt->facts.embed_dim;
  pthread_mutex_unlock(&rt->lock);
  /* Every large host buffer of the job is booked before it exists. */
  wh_hbook hb = {rt->host->ledger, 0};
  wh_memtrack mt;
  if ((rc = wh_memtrack_start(&mt, rt)))
    return warm_error_set(err, rc, "cannot start the memory timeline");

  json_t *used = json_object(), *timings = json_object();
  warm_tensor cond[2] = {{0}}, lat = {0}, emb = {0}, mask = {0}, ts = {0},
              fpst = {0};
  float *x = NULL;
  warm_run_args da = {0};
  const char *enc_used = "none";
  char fp[65];
  int hit = 0;
  double t0 = wh_pc_now(), t;

  /* 1. Encode. */
  if ((rc = wh_hbook_add(&hb, (uint64_t)fT * fCe * 4 + (uint64_t)fT * 4, err)))
    goto out;
  t = wh_pc_now();
  wh_memtrack_mark(&mt, "encode");
  uint64_t s0 = ctl->streamed_bytes;
  rc = wh_pipeline_encode(rt, cache, w.enc->name, p->prompt, cond, &enc_used,
                          fp, &hit, ctl, err);
  json_object_set_new(timings, "encode", json_real(wh_pc_now() - t));
  if (rc) goto out;
  wh_pc_component_json(used, w.enc, enc_used, ctl->streamed_bytes - s0);
  wh_pc_progress(ctl, 0.05f);

  /* 2. Denoise: noise -> Euler steps split evenly across the stages. With
   * guidance the batch is [null condition, prompt]; the null condition is
   * an all-masked text input. */
  const int64_t T = cond[0].shape[0], Ce = cond[0].shape[1];
  int64_t lshape[5] = {B, C, Fl, Hl, Wl}, eshape[3] = {B, T, Ce},
          mshape[2] = {B, T}, tshape[1] = {B}, one[1] = {1};
  const uint64_t vel_bytes = sizeof(float) * (uint64_t)B * (uint64_t)n;
  if ((rc = wh_hbook_add(&hb,
                   sizeof(float) * (uint64_t)n + vel_bytes +
                       (uint64_t)B * T * Ce * 4 + (uint64_t)B * T * 4 + 64 +
                       vel_bytes,
                   err)))
    goto out;
  x = malloc(sizeof *x * n);
  if (!x || warm_tensor_alloc(&lat, "latents", WARM_F32, 5, lshape) ||
      warm_tensor_alloc(&emb, "embeddings", WARM_F32, 3, eshape) ||
      warm_tensor_alloc(&mask, "mask", WARM_I32, 2, mshape) ||
      warm_tensor_alloc(&ts, "timestep", WARM_F32, 1, tshape) ||
      warm_tensor_alloc(&fpst, "fps", WARM_F32, 1, one)) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory for %lld latents",
                        (long long)n);
    goto out;
  }
  memcpy((float *)emb.data + (B - 1) * T * Ce, cond[0].data,
         sizeof(float) * T * Ce);
  memcpy((int32_t *)mask.data + (B - 1) * T, cond[1].data,
         sizeof(int32_t) * T);
  ((float *)fpst.data)[0] = (float)p->fps;
  wh_noise(x, n, p->seed);
  wh_schedule sched;
  wh_schedule_init(&sched, (int)p->steps, wh_shift_mu(Fl * Hl * Wl));
  warm_job_shape shape = {(uint32_t)T, p->frames, p->height, p->width,
                          (uint32_t)B};
  int step = 0;
  for (size_t s = 0; s < w.n_stages && rc == 0; s++) {
    int end = (int)((s + 1) * p->steps / w.n_stages);
    warm_placement su = 0;
    uint64_t s1 = ctl->streamed_bytes;
    t = wh_pc_now();
    char mark[96];
    snprintf(mark, sizeof mark, "denoise.%s", w.stages[s]->name);
    wh_memtrack_mark(&mt, mark);
    for (; step < end; step++) {
      if (wh_pc_cancelled(ctl)) {
        rc = warm_error_set(err, WARM_ECANCELED, "cancelled at step %d", step);
        break;
      }
      for (int b = 0; b < B; b++) {
        memcpy((float *)lat.data + b * n, x, sizeof(float) * n);
        ((float *)ts.data)[b] = sched.sigmas[step] * 1000.0f;
      }
      warm_tensor in[5] = {lat, ts, emb, mask, fpst};
      warm_run_args a = {0};
      a.inputs = in;
      a.n_inputs = 5;
      rc = wh_pc_call(rt, w.stages[s], &shape, &a, ctl, &su, err);
      warm_tensor *v = rc ? NULL : wh_pc_output(&a, "velocity");
      if (!rc && (!v || v->dtype != WARM_F32 || warm_tensor_numel(v) != B * n))
        rc = warm_error_set(err, WARM_EFORMAT,
                            "stage %s returned no f32 \"velocity\" shaped "
                            "like the latents",
                            w.stages[s]->name);
      if (!rc) {
        float *vel = v->data;
        if (B == 2) wh_guidance(vel + n, vel, n, (float)p->guidance);
        wh_euler_step(x, vel + (B - 1) * n, n, sched.sigmas[step],
                      sched.sigmas[step + 1]);
      }
      wh_pc_free_outputs(&a);
      if (rc) break;
      wh_pc_progress(ctl, 0.05f + 0.85f * (float)(step + 1) / (float)p->steps);
    }
    char key[96];
    snprintf(key, sizeof key, "denoise.%s", w.stages[s]->name);
    json_object_set_new(timings, key, json_real(wh_pc_now() - t));
    if (su)
      wh_pc_component_json(used, w.stages[s], warm_placement_name(su),
                     ctl->streamed_bytes - s1);
  }
  if (rc) goto out;
  wh_hbook_sub(&hb, vel_bytes); /* the stages' outputs are gone */

  /* 3. Decode. */
  if (wh_pc_cancelled(ctl)) {
    rc = warm_error_set(err, WARM_ECANCELED, "cancelled before decode");
    goto out;
  }
  t = wh_pc_now();
  wh_memtrack_mark(&mt, "decode");
  {
    int64_t dshape[4] = {C, Fl, Hl, Wl};
    warm_tensor dl = {0};
    if ((rc = wh_hbook_add(&hb,
                     sizeof(float) * ((uint64_t)n + 3ull * p->frames *
                                                        p->height * p->width),
                     err)))
      goto out;
    if (warm_tensor_alloc(&dl, "latents", WARM_F32, 4, dshape)) {
      rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
      goto out;
    }
    memcpy(dl.data, x, sizeof(float) * n);
    da.inputs = &dl;
    da.n_inputs = 1;
    warm_placement du = 0;
    uint64_t s2 = ctl->streamed_bytes;
    rc = wh_pc_call(rt, w.dec, &shape, &da, ctl, &du, err);
    warm_tensor_free(&dl);
    json_object_set_new(timings, "decode", json_real(wh_pc_now() - t));
    if (rc) goto out;
    wh_pc_component_json(used, w.dec, warm_placement_name(du),
                   ctl->streamed_bytes - s2);
  }
  warm_tensor *fr = wh_pc_output(&da, "frames");
  if (!fr || fr->dtype != WARM_F32 || fr->ndim != 4 || fr->shape[0] != 3) {
    rc = warm_error_set(err, WARM_EFORMAT,
                        "decoder %s returned no f32 \"frames\" [3, F, H, W]",
                        w.dec->name);
    goto out;
  }
  wh_pc_progress(ctl, 0.95f);

  /* 4. Files. */
  if (wh_pc_cancelled(ctl)) {
    rc = warm_error_set(err, WARM_ECANCELED, "cancelled before the files");
    goto out;
  }
  wh_memtrack_stop(&mt);
  if ((rc = wh_hbook_add(&hb, 2ull * p->height * p->width + WH_SHEET_BOUND, err)))
    goto out;
  {
    char path[4096];
    wh_image sheet = {0};
    snprintf(path, sizeof path, "%s/video.y4m", out_dir);
    rc = wh_write_y4m(path, fr->data, fr->shape[1], fr->shape[2], fr->shape[3],
                      p->fps, err);
    snprintf(path, sizeof path, "%s/video.mp4", out_dir);
    if (!rc)
      rc = wh_write_mp4(path, fr->data, fr->shape[1], fr->shape[2],
                        fr->shape[3], p->fps, NULL, err);
    if (!rc)
      rc = wh_contact_sheet(fr->data, fr->shape[1], fr->shape[2], fr->shape[3],
                            16, 192, &sheet, err);
    snprintf(path, sizeof path, "%s/preview.png", out_dir);
    if (!rc) rc = wh_write_png(path, &sheet, err);
    wh_image_free(&sheet);
    snprintf(path, sizeof path, "%s/memory.png", out_dir);
    if (!rc) rc = wh_memtrack_plot(&mt, path, err);
    if (rc) goto out;
  }
  json_object_set_new(timings, "total", json_real(wh_pc_now() - t0));
  json_t *r = json_object();
  json_object_set_new(r, "id", json_string(job_id));
  json_object_set_new(r, "prompt", json_string(p->prompt));
  json_object_set_new(r, "seed", json_integer((json_int_t)p->seed));
  json_object_set_new(r, "frames", json_integer(fr->shape[1]));
  json_object_set_new(r, "height", json_integer(fr->shape[2]));
  json_object_set_new(r, "width", json_integer(fr->shape[3]));
  json_object_set_new(r, "steps", json_integer(p->steps));
  json_object_set_new(r, "fps", json_integer(p->fps));
  json_object_set_new(r, "guidance", json_real(p->guidance));
  rc = wh_pc_finish_result(rt, r, timings, used, hit, fp, out_dir, result_json,
                           err);
  wh_pc_progress(ctl, rc ? 0.95f : 1.0f);

out:
  /* A job that fails after its video was written keeps none of it. */
  if (rc) wh_job_outputs_remove(out_dir);
  wh_hbook_sub(&hb, hb.n);
  wh_memtrack_stop(&mt);
  wh_memtrack_free(&mt);
  wh_pc_free_outputs(&da);
  warm_tensor_free(&cond[0]);
  warm_tensor_free(&cond[1]);
  warm_tensor_free(&lat);
  warm_tensor_free(&emb);
  warm_tensor_free(&mask);
  warm_tensor_free(&ts);
  warm_tensor_free(&fpst);
  free(x);
  json_decref(used);
  json_decref(timings);
  return rc;
}
