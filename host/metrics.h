/*
 * host/metrics.h — warmd's Prometheus metrics (text exposition format
 * 0.0.4, every name prefixed warmd_). Most figures are read live when
 * /metrics is rendered (ledgers, cache, job table); what only exists
 * while a job finishes (stage latencies, streamed bytes) is accumulated
 * here as it happens.
 *
 * Threads: wh_metrics_job_result and the counters may be called from any
 * thread; rendering takes the runtime and ledger locks briefly.
 */
#ifndef WH_METRICS_H
#define WH_METRICS_H

#include <stdint.h>

#include "embcache.h"
#include "runtime.h"
#include "strbuf.h"

typedef struct wh_metrics wh_metrics;
typedef struct wh_jobs wh_jobs;

/* Everything rendered besides what wh_metrics accumulates. Any pointer may
 * be NULL (that family is left out). */
typedef struct wh_metrics_src {
  wh_runtime *rt;
  wh_embcache *cache;
  wh_jobs *jobs;
  uint64_t reloads_ok, reloads_failed;
  uint64_t swaps_ok, swaps_failed;
  int ready, draining;
} wh_metrics_src;

int wh_metrics_create(wh_metrics **out);
void wh_metrics_destroy(wh_metrics *m);

/* A finished job's result.json text: each "timings" entry goes into the
 * stage latency histogram under its name; "components".NAME.
 * "streamed_bytes" (when the pipeline reports it) adds to the streamed
 * bytes counter. Malformed text is ignored (it came from our own pipeline,
 * and metrics must never fail a job). */
void wh_metrics_job_result(wh_metrics *m, const char *result_json);

/* Appends the whole exposition to out (out->oom says if memory ran out). */
void wh_metrics_render(wh_metrics *m, const wh_metrics_src *src,
                       wh_strbuf *out);

/* Upper bounds (seconds) of the stage latency histogram buckets. */
extern const double wh_metrics_buckets[];
extern const int wh_metrics_n_buckets;

#endif /* WH_METRICS_H */
