/*
 * host/admission.c — the whole job's memory, checked before it runs (see
 * admission.h).
 */
#include "admission.h"

#include <stdio.h>
#include <string.h>

#include "pipeline_int.h"

typedef struct est_op {
  wh_component *c;
  warm_place_req req;
  warm_job_shape shape;
  warm_estimate out;
  warm_error err;
} est_op;

static int est_run(void *arg) {
  est_op *o = arg;
  memset(&o->out, 0, sizeof o->out);
  return wh_plugin_desc(o->c->plugin)
      ->estimate(o->c->inst, &o->req, &o->shape, &o->out, &o->err);
}

/* Total device bytes of c in placement p for shape s; 0 and *total on
 * success. Runs on c's executor when the runtime is live. */
static int estimate(wh_runtime *rt, wh_component *c, warm_placement p,
                    const warm_job_shape *s, uint64_t *total, uint64_t *kept,
                    warm_error *err) {
  pthread_mutex_lock(&rt->lock);
  est_op o = {c, {p, c->stream_window, c->stream_source}, *s, {0}, {0}};
  pthread_mutex_unlock(&rt->lock);
  int rc = rt->live && c->dev->exec ? wh_executor_call(c->dev->exec, est_run, &o)
                                    : est_run(&o);
  if (rc)
    return warm_error_set(err, rc < 0 ? rc : WARM_EINTERNAL,
                          "%s: estimate (%s): %s", c->name,
                          warm_placement_name(p), o.err.msg);
  *total = o.out.persistent + o.out.window + o.out.workspace;
  if (kept) *kept = o.out.persistent + o.out.window;
  return 0;
}

static wh_component *named(wh_runtime *rt, const char *name) {
  for (size_t i = 0; name && i < rt->n_components; i++)
    if (!strcmp(rt->components[i]->name, name)) return rt->components[i];
  return NULL;
}

/* What the components of dev other than c hold while c runs: their ledger
 * bytes, or for an `auto` one of no higher priority than c, what it would
 * hold streamed (the pipeline demotes it to make room). */
static int others_hold(wh_runtime *rt, wh_component *c,
                       const warm_job_shape *s, uint64_t *held,
                       warm_error *err) {
  *held = 0;
  for (size_t i = 0; i < rt->n_components; i++) {
    wh_component *o = rt->components[i];
    if (o == c || o->dev != c->dev) continue;
    uint64_t p, w, ws, str;
    wh_component_bytes(o, &p, &w, &ws);
    uint64_t now = p + w;
    pthread_mutex_lock(&rt->lock);
    int demotable = o->placement == WARM_PLACE_AUTO &&
                    o->active == WARM_PLACE_RESIDENT &&
                    o->priority <= c->priority;
    pthread_mutex_unlock(&rt->lock);
    if (demotable) {
      int rc = estimate(rt, o, WARM_PLACE_STREAM, s, &ws, &str, err);
      if (rc) return rc;
      if (str < now) now = str;
    }
    *held += now;
  }
  return 0;
}

/* One component call of the job. */
static int check_call(wh_runtime *rt, wh_component *c, const warm_job_shape *s,
                      warm_error *err) {
  pthread_mutex_lock(&rt->lock);
  warm_placement conf = c->placement, active = c->active;
  pthread_mutex_unlock(&rt->lock);
  warm_placement pick = conf == WARM_PLACE_AUTO ? WARM_PLACE_STREAM
                        : active                ? active
                                                : conf;
  uint64_t need, kept, held;
  int rc = estimate(rt, c, pick, s, &need, &kept, err);
  if (!rc && conf == WARM_PLACE_AUTO) {
    uint64_t res;
    if (estimate(rt, c, WARM_PLACE_RESIDENT, s, &res, &kept, err) == 0 &&
        res < need) {
      need = res;
      pick = WARM_PLACE_RESIDENT;
    }
  }
  if (!rc) rc = others_hold(rt, c, s, &held, err);
  if (rc) return rc;
  warm_ledger_stats st;
  warm_ledger_stats_get(c->dev->ledger, &st);
  uint64_t room = st.budget > held ? st.budget - held : 0;
  if (need <= room) return 0;
  char n[32], r[32], b[32], h[32];
  return warm_error_set(
      err, WARM_ENOSPACE,
      "the job needs %s on device %s for component %s (%s) but at most %s "
      "can be free for it (budget %s, other components hold %s)",
      warm_format_size(need, n, sizeof n), c->dev->name, c->name,
      warm_placement_name(pick), warm_format_size(room, r, sizeof r),
      warm_format_size(st.budget, b, sizeof b),
      warm_format_size(held, h, sizeof h));
}

static void jobs_entry(void *user, const warm_ledger_entry *e) {
  if (!strcmp(e->component, "jobs")) *(uint64_t *)user = e->workspace;
}

/* The job's host buffers against the host ledger; the bytes a running job
 * holds now are free again when this one runs. */
static int check_host(wh_runtime *rt, const wh_pipe_facts *f,
                      const wh_job_params *p, warm_error *err) {
  pthread_mutex_lock(&rt->lock);
  wh_pipe_type type = rt->config ? rt->config->pipeline.type : WH_PIPE_LTXV;
  pthread_mutex_unlock(&rt->lock);
  uint64_t need = type == WH_PIPE_LTXV ? wh_pipeline_host_bytes(f, p)
                                       : wh_ltx2_host_bytes(f, type, p),
           jobs = 0;
  warm_ledger_stats st;
  warm_ledger_stats_get(rt->host->ledger, &st);
  warm_ledger_foreach(rt->host->ledger, jobs_entry, &jobs);
  uint64_t held = st.used > jobs ? st.used - jobs : 0;
  uint64_t room = st.budget > held ? st.budget - held : 0;
  if (need <= room) return 0;
  char n[32], r[32], b[32];
  return warm_error_set(err, WARM_ENOSPACE,
                        "the job needs %s of host memory for its buffers and "
                        "frames but at most %s can be free for it "
                        "([host] memory_budget %s)",
                        warm_format_size(need, n, sizeof n),
                        warm_format_size(room, r, sizeof r),
                        warm_format_size(st.budget, b, sizeof b));
}

int wh_admission_check(wh_runtime *rt, const wh_job_params *p,
                       warm_error *err) {
  pthread_rwlock_rdlock(&rt->commit_lock);
  pthread_mutex_lock(&rt->lock);
  wh_cfg_pipeline pl = rt->config ? rt->config->pipeline : (wh_cfg_pipeline){0};
  wh_component *enc = named(rt, pl.encoder), *dec = named(rt, pl.decoder),
               *up = named(rt, pl.upsampler), *aud = named(rt, pl.audio_decoder);
  wh_component *stages[WH_PIPELINE_MAX_STAGES];
  int missing = !enc || !dec || !pl.n_stages;
  for (size_t i = 0; i < pl.n_stages; i++)
    missing |= !(stages[i] = named(rt, pl.stages[i]));
  uint32_t T = rt->facts.max_tokens;
  wh_pipe_facts f = rt->facts;
  pthread_mutex_unlock(&rt->lock);
  int rc = check_host(rt, &f, p, err);
  if (!rc && !missing && pl.type != WH_PIPE_LTXV) {
    warm_job_shape es = {T, 0, 0, 0, 1}, s1, full;
    int two = wh_ltx2_call_shapes(pl.type, p, T, &s1, &full);
    rc = check_call(rt, enc, &es, err);
    if (!rc) rc = check_call(rt, stages[0], &s1, err);
    if (!rc && two && pl.n_stages > 1) rc = check_call(rt, stages[1], &full, err);
    if (!rc && up) rc = check_call(rt, up, &full, err);
    if (!rc) rc = check_call(rt, dec, &full, err);
    if (!rc && aud) rc = check_call(rt, aud, &full, err);
  } else if (!rc && !missing) {
    const uint32_t B = p->guidance > 1.0 ? 2 : 1;
    warm_job_shape es = {T, 0, 0, 0, 1},
                   js = {T, p->frames, p->height, p->width, B};
    rc = check_call(rt, enc, &es, err);
    for (size_t i = 0; !rc && i < pl.n_stages; i++)
      rc = check_call(rt, stages[i], &js, err);
    if (!rc) rc = check_call(rt, dec, &js, err);
  }
  pthread_rwlock_unlock(&rt->commit_lock);
  return rc;
}
