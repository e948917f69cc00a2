/*
 * host/metrics.c — rendering /metrics (see metrics.h). Label values are
 * escaped as the text format requires (backslash, quote, newline).
 */
#include "metrics.h"

#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "jobs.h"

#define MAX_STAGES 32
#define NB 14

const double wh_metrics_buckets[NB] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
const int wh_metrics_n_buckets = NB;

typedef struct histo {
  char stage[96];
  uint64_t counts[NB + 1]; /* last: +Inf only */
  uint64_t n;
  double sum;
} histo;

struct wh_metrics {
  pthread_mutex_t mu;
  histo stages[MAX_STAGES];
  int n_stages;
  uint64_t streamed_bytes;
  uint64_t results_seen;
};

int wh_metrics_create(wh_metrics **out) {
  wh_metrics *m = calloc(1, sizeof *m);
  if (!m) return WARM_ENOMEM;
  pthread_mutex_init(&m->mu, NULL);
  *out = m;
  return 0;
}

void wh_metrics_destroy(wh_metrics *m) {
  if (!m) return;
  pthread_mutex_destroy(&m->mu);
  free(m);
}

/* Under m->mu. Stages past MAX_STAGES share one "other" histogram so a
 * config with odd stage names cannot grow memory without bound. */
static histo *stage(wh_metrics *m, const char *name) {
  for (int i = 0; i < m->n_stages; i++)
    if (!strcmp(m->stages[i].stage, name)) return &m->stages[i];
  if (m->n_stages == MAX_STAGES) name = "other";
  for (int i = 0; i < m->n_stages; i++)
    if (!strcmp(m->stages[i].stage, name)) return &m->stages[i];
  if (m->n_stages == MAX_STAGES) return &m->stages[MAX_STAGES - 1];
  histo *h = &m->stages[m->n_stages++];
  snprintf(h->stage, sizeof h->stage, "%s", name);
  return h;
}

void wh_metrics_job_result(wh_metrics *m, const char *result_json) {
  json_t *r = result_json ? json_loads(result_json, 0, NULL) : NULL;
  if (!r) return;
  json_t *timings = json_object_get(r, "timings");
  json_t *comps = json_object_get(r, "components");
  const char *k;
  json_t *v;
  pthread_mutex_lock(&m->mu);
  m->results_seen++;
  json_object_foreach(timings, k, v) {
    if (!json_is_number(v)) continue;
    double s = json_number_value(v);
    histo *h = stage(m, k);
    int b = 0;
    while (b < NB && s > wh_metrics_buckets[b])
      b++;
    h->counts[b]++;
    h->n++;
    h->sum += s;
  }
  json_object_foreach(comps, k, v) {
    json_t *sb = json_object_get(v, "streamed_bytes");
    if (json_is_integer(sb) && json_integer_value(sb) > 0)
      m->streamed_bytes += (uint64_t)json_integer_value(sb);
  }
  pthread_mutex_unlock(&m->mu);
  json_decref(r);
}

/* ---- rendering ----------------------------------------------------------- */

static void esc(wh_strbuf *o, const char *s) {
  for (; *s; s++) {
    if (*s == '\\')
      wh_sb_put(o, "\\\\", 2);
    else if (*s == '"')
      wh_sb_put(o, "\\\"", 2);
    else if (*s == '\n')
      wh_sb_put(o, "\\n", 2);
    else
      wh_sb_put(o, s, 1);
  }
}

static void head(wh_strbuf *o, const char *name, const char *type,
                 const char *help) {
  wh_sb_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void u64(wh_strbuf *o, const char *name, uint64_t v) {
  wh_sb_printf(o, "%s %llu\n", name, (unsigned long long)v);
}

static void render_jobs(wh_strbuf *o, wh_jobs *jobs) {
  wh_jobs_stats st;
  wh_jobs_stats_get(jobs, &st);
  head(o, "warmd_jobs", "gauge", "Jobs in the job table by state.");
  for (int s = 0; s < WH_JOB_NSTATES; s++)
    wh_sb_printf(o, "warmd_jobs{state=\"%s\"} %llu\n",
                 wh_job_state_name((wh_job_state)s),
                 (unsigned long long)st.by_state[s]);
  head(o, "warmd_jobs_finished_total", "counter",
       "Jobs finished since start, by final state.");
  for (int s = WH_JOB_DONE; s < WH_JOB_NSTATES; s++)
    wh_sb_printf(o, "warmd_jobs_finished_total{state=\"%s\"} %llu\n",
                 wh_job_state_name((wh_job_state)s),
                 (unsigned long long)st.finished[s]);
  head(o, "warmd_jobs_submitted_total", "counter", "Jobs accepted.");
  u64(o, "warmd_jobs_submitted_total", st.submitted);
  head(o, "warmd_jobs_rejected_total", "counter",
       "Job submissions refused, by reason.");
  wh_sb_printf(o, "warmd_jobs_rejected_total{reason=\"queue_full\"} %llu\n",
               (unsigned long long)st.rejected_full);
  wh_sb_printf(o, "warmd_jobs_rejected_total{reason=\"draining\"} %llu\n",
               (unsigned long long)st.rejected_draining);
  head(o, "warmd_queue_depth", "gauge", "Jobs waiting in the queue.");
  u64(o, "warmd_queue_depth", st.queue_depth);
  head(o, "warmd_queue_capacity", "gauge", "max_queue.");
  u64(o, "warmd_queue_capacity", st.max_queue);
}

typedef struct led_ctx {
  wh_strbuf *o;
  const char *dev;
  int pass; /* 0 bytes by class, 1 reserved, 2 peak */
} led_ctx;

static void led_row(void *user, const warm_ledger_entry *e) {
  led_ctx *x = user;
  if (x->pass == 0) {
    const char *cls[3] = {"resident", "window", "workspace"};
    uint64_t v[3] = {e->persistent, e->window, e->workspace};
    for (int i = 0; i < 3; i++) {
      wh_sb_printf(x->o, "warmd_ledger_bytes{device=\"");
      esc(x->o, x->dev);
      wh_sb_printf(x->o, "\",component=\"");
      esc(x->o, e->component);
      wh_sb_printf(x->o, "\",class=\"%s\"} %llu\n", cls[i],
                   (unsigned long long)v[i]);
    }
    return;
  }
  wh_sb_printf(x->o, "%s{device=\"",
               x->pass == 1 ? "warmd_ledger_reserved_bytes"
                            : "warmd_component_peak_bytes");
  esc(x->o, x->dev);
  wh_sb_printf(x->o, "\",component=\"");
  esc(x->o, e->component);
  wh_sb_printf(x->o, "\"} %llu\n",
               (unsigned long long)(x->pass == 1 ? e->reserved : e->peak));
}

static void render_ledgers(wh_strbuf *o, wh_runtime *rt) {
  static const char *names[3] = {"warmd_ledger_bytes",
                                 "warmd_ledger_reserved_bytes",
                                 "warmd_component_peak_bytes"};
  static const char *helps[3] = {
      "Device bytes booked per component, by class (resident = persistent).",
      "Bytes reserved for the call in flight, per component.",
      "Highest bytes booked per component since the last job began."};
  pthread_mutex_lock(&rt->lock);
  for (int pass = 0; pass < 3; pass++) {
    head(o, names[pass], "gauge", helps[pass]);
    for (size_t k = 0; k <= rt->n_devices; k++) {
      wh_device *d = k < rt->n_devices ? rt->devices[k] : rt->host;
      led_ctx x = {o, d->name, pass};
      warm_ledger_foreach(d->ledger, led_row, &x);
    }
  }
  static const char *dn[4] = {
      "warmd_device_budget_bytes", "warmd_device_used_bytes",
      "warmd_device_booked_bytes", "warmd_device_peak_bytes"};
  static const char *dh[4] = {
      "Device budget.", "Bytes in use (booked or reserved).", "Bytes booked.",
      "High-water mark of booked bytes since the last job began."};
  for (int i = 0; i < 4; i++) {
    head(o, dn[i], "gauge", dh[i]);
    for (size_t k = 0; k <= rt->n_devices; k++) {
      wh_device *d = k < rt->n_devices ? rt->devices[k] : rt->host;
      warm_ledger_stats st;
      warm_ledger_stats_get(d->ledger, &st);
      uint64_t v[4] = {st.budget, st.used, st.booked, st.peak};
      wh_sb_printf(o, "%s{device=\"", dn[i]);
      esc(o, d->name);
      wh_sb_printf(o, "\"} %llu\n", (unsigned long long)v[i]);
    }
  }
  head(o, "warmd_component_info", "gauge",
       "One per component: state and placement (configured, active).");
  for (size_t i = 0; i < rt->n_components; i++) {
    wh_component *c = rt->components[i];
    wh_sb_printf(o, "warmd_component_info{component=\"");
    esc(o, c->name);
    wh_sb_printf(o, "\",device=\"");
    esc(o, c->dev->name);
    wh_sb_printf(
        o, "\",state=\"%s\",placement=\"%s\",active=\"%s\"} 1\n",
        wh_comp_state_name(c->state), warm_placement_name(c->placement),
        c->state == WH_COMP_PLACED ? warm_placement_name(c->active) : "none");
  }
  pthread_mutex_unlock(&rt->lock);
}

static void render_cache(wh_strbuf *o, wh_embcache *cache) {
  wh_embcache_stats st;
  wh_embcache_stats_get(cache, &st);
  const struct {
    const char *name, *type, *help;
    uint64_t v;
  } rows[] = {
      {"warmd_cache_hits_total", "counter", "Embedding cache hits.", st.hits},
      {"warmd_cache_misses_total", "counter", "Embedding cache misses.",
       st.misses},
      {"warmd_cache_evictions_total", "counter", "Entries evicted (LRU).",
       st.evictions},
      {"warmd_cache_bytes", "gauge", "Bytes held by the cache.", st.bytes},
      {"warmd_cache_budget_bytes", "gauge", "[cache] embeddings.", st.budget},
      {"warmd_cache_entries", "gauge", "Entries held.", st.entries},
  };
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    head(o, rows[i].name, rows[i].type, rows[i].help);
    u64(o, rows[i].name, rows[i].v);
  }
}

static void render_histos(wh_strbuf *o, wh_metrics *m) {
  head(o, "warmd_stage_seconds", "histogram",
       "Wall time per pipeline stage of finished jobs (from result.json).");
  pthread_mutex_lock(&m->mu);
  for (int i = 0; i < m->n_stages; i++) {
    histo *h = &m->stages[i];
    uint64_t cum = 0;
    for (int b = 0; b <= NB; b++) {
      cum += h->counts[b];
      wh_sb_printf(o, "warmd_stage_seconds_bucket{stage=\"");
      esc(o, h->stage);
      if (b < NB)
        wh_sb_printf(o, "\",le=\"%g\"} %llu\n", wh_metrics_buckets[b],
                     (unsigned long long)cum);
      else
        wh_sb_printf(o, "\",le=\"+Inf\"} %llu\n", (unsigned long long)cum);
    }
    wh_sb_printf(o, "warmd_stage_seconds_sum{stage=\"");
    esc(o, h->stage);
    wh_sb_printf(o, "\"} %.9g\nwarmd_stage_seconds_count{stage=\"", h->sum);
    esc(o, h->stage);
    wh_sb_printf(o, "\"} %llu\n", (unsigned long long)h->n);
  }
  head(o, "warmd_streamed_bytes_total", "counter",
       "Bytes moved through stream windows by finished jobs.");
  u64(o, "warmd_streamed_bytes_total", m->streamed_bytes);
  pthread_mutex_unlock(&m->mu);
}

void wh_metrics_render(wh_metrics *m, const wh_metrics_src *src,
                       wh_strbuf *out) {
  head(out, "warmd_up", "gauge", "1 while warmd runs.");
  u64(out, "warmd_up", 1);
  head(out, "warmd_ready", "gauge",
       "1 when components are placed and "
       "warmd takes jobs.");
  u64(out, "warmd_ready", (uint64_t)(src->ready != 0));
  head(out, "warmd_draining", "gauge", "1 while draining.");
  u64(out, "warmd_draining", (uint64_t)(src->draining != 0));
  if (src->jobs) render_jobs(out, src->jobs);
  if (src->rt) render_ledgers(out, src->rt);
  if (src->cache) render_cache(out, src->cache);
  render_histos(out, m);
  head(out, "warmd_reloads_total", "counter", "Config reloads by result.");
  wh_sb_printf(out, "warmd_reloads_total{result=\"ok\"} %llu\n",
               (unsigned long long)src->reloads_ok);
  wh_sb_printf(out, "warmd_reloads_total{result=\"failed\"} %llu\n",
               (unsigned long long)src->reloads_failed);
  head(out, "warmd_swaps_total", "counter", "Component swaps by result.");
  wh_sb_printf(out, "warmd_swaps_total{result=\"ok\"} %llu\n",
               (unsigned long long)src->swaps_ok);
  wh_sb_printf(out, "warmd_swaps_total{result=\"failed\"} %llu\n",
               (unsigned long long)src->swaps_failed);
}
