/*
 * host/http_api.h — warmd's data plane: the HTTP routes over the job table
 * and the metrics, and the graceful stop (drain, wait up to
 * shutdown_timeout, cancel the rest).
 *
 *   POST   /v1/generations             {"prompt", "negative_prompt",
 *                                        "frames", "height", "width",
 *                                        "steps", "seed", "fps", "guidance",
 *                                        "image", "image_strength",
 *                                        "video_guidance",
 *                                        "audio_guidance"} -> 202 {"id"}
 *   GET    /v1/generations/{id}         the job (state, progress, result)
 *   GET    /v1/generations/{id}/video   video.y4m of a done job
 *   GET    /v1/generations/{id}/video.mp4  video.mp4 (H.264; AAC with sound)
 *   GET    /, /index.html               the web page (compiled in)
 *   GET    /v1/status                   components, memory, jobs, cache
 *   DELETE /v1/generations/{id}         cancel a queued or running job;
 *                                        remove a finished one's files
 *   GET    /healthz, /readyz, /metrics
 *
 * With [host] api_keys_file every route but the probes (and /metrics with
 * auth_exempt_metrics) needs `Authorization: Bearer TOKEN` (else 401 with
 * WWW-Authenticate). With instance_id every response carries
 * `Warmd-Instance: ID`. A POST's X-Warmd-Affinity header (the key a front
 * hashes to send a prompt to the same instance) is echoed in the 202
 * reply as "affinity".
 *
 * Errors are JSON {"error": "...", "field": "..."} (field when one is to
 * blame). Threads: everything runs on the loop thread except the job
 * thread inside wh_jobs.
 */
#ifndef WH_HTTP_API_H
#define WH_HTTP_API_H

#include <uv.h>

#include "http.h"
#include "jobs.h"
#include "metrics.h"
#include "strbuf.h"

typedef struct wh_api_opts {
  const char *listen; /* ADDR:PORT */
  wh_http_limits limits;
  size_t max_queue;          /* 0: 64 */
  double shutdown_timeout_s; /* 0: 30 s */
  const char *output_dir;    /* NULL: [host] output_dir, else "out" */
  const char *instance_id;   /* job ids "INSTANCE.HEX"; NULL: plain HEX */
  int restore_jobs;          /* fill the job table from the records on disk */
  wh_runtime *rt;
  wh_embcache *cache; /* may be NULL */
  wh_job_run_fn run;  /* NULL: the pipeline (see wh_jobs_opts) */
  void *run_user;
  /* Fills defaults and checks a job before it is queued, on the loop
   * thread; NULL: wh_pipeline_resolve. Errors whose message starts with a
   * field name ("frames = 10: ...") are the client's (422), others the
   * server's (503). */
  int (*resolve)(void *user, wh_job_params *p, warm_error *err);
  /* Loop thread, when /metrics renders: fills the counters the API does
   * not own (reloads, swaps). May be NULL. */
  void (*counters)(void *user, wh_metrics_src *src);
  void *counters_user;
} wh_api_opts;

typedef struct wh_api wh_api;

/* Creates the job table and its thread, and listens. On failure nothing
 * is left running (the loop may still need a turn to close handles). */
int wh_api_start(uv_loop_t *loop, const wh_api_opts *o, wh_api **out,
                 warm_error *err);
wh_jobs *wh_api_jobs(wh_api *a);
wh_metrics *wh_api_metrics(wh_api *a);
int wh_api_port(const wh_api *a);

/* drain: POST answers 503, queued and running jobs carry on. */
void wh_api_drain(wh_api *a);
/* Loop thread, after a reload: settings read per pass (retention) apply
 * now rather than at the next timer. */
void wh_api_config_changed(wh_api *a);
void wh_api_resume(wh_api *a);
int wh_api_draining(const wh_api *a);

/* Admin `show jobs [json]`: one line per job ("ID STATE PROGRESS% PROMPT",
 * prompts cut at 60 bytes) or a JSON object {"draining", "queue_depth",
 * "jobs": [...]}. Loop thread. */
void wh_api_show_jobs(wh_api *a, wh_strbuf *out, int json);

/* The graceful stop: drain; when the table is idle, or after
 * shutdown_timeout (then everything left is cancelled, marked so, and
 * awaited), the server closes, the job thread is joined and a is freed;
 * then done(arg) runs on the loop thread. The API keeps answering GETs
 * until then. */
void wh_api_shutdown(wh_api *a, void (*done)(void *arg), void *arg);

/* A POST body parsed and checked: p's strings point into doc, p.image
 * into image (the decoded bytes). wh_api_job_free releases both. */
struct json_t;
typedef struct wh_api_job {
  wh_job_params p;
  struct json_t *doc;
  uint8_t *image;
} wh_api_job;

/* The POST body check alone (pure: no loop, no runtime), for the fuzzer and
 * the tests: fills job, or returns the HTTP status (400 / 422; 500 when
 * out of memory) with msg and field filled and nothing left in job. A
 * field inside a guidance object is named with a dot:
 * "video_guidance.cfg". */
int wh_api_parse_job(const char *body, size_t len, wh_api_job *job, char *msg,
                     size_t msg_len, char *field, size_t field_len);
void wh_api_job_free(wh_api_job *job);

/* The body's top-level fields, as the 422 for an unknown one lists them. */
extern const char *const wh_api_job_fields[];
extern const size_t wh_api_n_job_fields;

/* Replaces control characters with '?' (messages go into one-line logs). */
void wh_api_one_line(char *s);

#endif /* WH_HTTP_API_H */
