/*
 * host/http_api.c — the routes, the POST body check and the graceful stop
 * (see http_api.h).
 */
#include "http_api.h"

#include <http_parser.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "admission.h"
#include "log.h"
#include "retention.h"
#include "status.h"

/* web/index.html, compiled in (web_page.c, generated at build time). */
extern const unsigned char wh_web_index[];
extern const size_t wh_web_index_len;

/* Failed run() calls in a row after which a component makes /readyz say
 * not ready (a success or a new instance clears it). */
#define WH_READY_MAX_RUN_FAILURES 3

/* A POST between its parse and its reply: the admission check runs on the
 * admission thread, the reply on the loop. */
typedef struct admit {
  wh_api *a;
  wh_http_req *r;
  wh_api_job job; /* owns what job.p points at */
  int rc;
  warm_error err;
  struct admit *next;
} admit;

struct wh_api {
  uv_loop_t *loop;
  wh_api_opts o;
  wh_executor *admit_ex; /* NULL: no admission (a custom resolver) */
  pthread_mutex_t admit_mu;
  admit *admitted; /* checked, waiting for the loop; under admit_mu */
  size_t admitting; /* loop thread: POSTs between parse and reply */
  wh_http_server *http;
  wh_jobs *jobs;
  wh_metrics *metrics;
  wh_retention *retention; /* NULL once stopped */
  int retention_open;
  char server_headers[96];
  uv_async_t wake;    /* the job thread's notify */
  uv_timer_t timeout; /* shutdown_timeout */
  int draining;
  int shutting, timed_out, closing, handles_open, http_open;
  void (*done)(void *);
  void *done_arg;
};

/* ---- replies ---------------------------------------------------------------
 */

static void reply_json(wh_http_req *r, int status, json_t *doc,
                       const char *extra) {
  char *s = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
  json_decref(doc);
  if (!s) {
    static const char oom[] = "{\"error\":\"out of memory\"}";
    wh_http_respond(r, 500, "application/json", oom, sizeof oom - 1, NULL);
    return;
  }
  size_t n = strlen(s);
  s[n] = '\0';
  char *t = realloc(s, n + 2);
  if (t) {
    s = t;
    s[n++] = '\n';
  }
  wh_http_respond(r, status, "application/json", s, n, extra);
  free(s);
}

static void reply_error(wh_http_req *r, int status, const char *field,
                        const char *extra, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void reply_error(wh_http_req *r, int status, const char *field,
                        const char *extra, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  json_t *o = json_pack("{s:s}", "error", msg);
  if (o && field && *field) json_object_set_new(o, "field", json_string(field));
  reply_json(r, status, o, extra);
}

/* ---- readiness -------------------------------------------------------------
 */

/* Ready: a pipeline is configured, every component serves, not draining.
 * Fills why when not. */
static int ready(wh_api *a, char *why, size_t n) {
  if (a->draining || a->shutting) {
    snprintf(why, n, "draining");
    return 0;
  }
  wh_runtime *rt = a->o.rt;
  int ok = 1;
  pthread_mutex_lock(&rt->lock);
  if (!rt->config || !rt->config->pipeline.present) {
    snprintf(why, n, "no [pipeline] configured");
    ok = 0;
  }
  /* A custom resolver (an embedding of the API) has its own wiring. */
  if (ok && !a->o.resolve && !rt->facts.valid) {
    snprintf(why, n, "%.900s", rt->facts.why);
    ok = 0;
  }
  for (size_t i = 0; ok && i < rt->n_components; i++) {
    wh_component *c = rt->components[i];
    uint32_t fails = __atomic_load_n(&c->run_failures, __ATOMIC_RELAXED);
    if (__atomic_load_n(&c->broken, __ATOMIC_ACQUIRE) ||
        (c->state != WH_COMP_PLACED && c->placement != WARM_PLACE_AUTO)) {
      snprintf(why, n, "component %.64s is %s%s%.800s", c->name,
               wh_comp_state_name(c->state), c->last_error[0] ? ": " : "",
               c->last_error);
      ok = 0;
    } else if (fails >= WH_READY_MAX_RUN_FAILURES) {
      snprintf(why, n, "component %.64s failed its last %u runs: %.800s",
               c->name, fails, c->run_error);
      ok = 0;
    }
  }
  pthread_mutex_unlock(&rt->lock);
  return ok;
}

/* ---- routes
 * ------------------------------------------------------------------ */

static int affinity_ok(const char *s);
static void submit_job(wh_api *a, wh_http_req *r, const wh_job_params *p);

/* Admission thread. */
static int admit_run(void *arg) {
  admit *ad = arg;
  ad->rc = wh_admission_check(ad->a->o.rt, &ad->job.p, &ad->err);
  return ad->rc;
}

static void admit_done(void *arg, int rc) {
  admit *ad = arg;
  wh_api *a = ad->a;
  (void)rc;
  pthread_mutex_lock(&a->admit_mu);
  ad->next = a->admitted;
  a->admitted = ad;
  pthread_mutex_unlock(&a->admit_mu);
  uv_async_send(&a->wake);
}

/* Loop thread: answers the POSTs whose check finished. */
static void finish_admissions(wh_api *a) {
  pthread_mutex_lock(&a->admit_mu);
  admit *ad = a->admitted;
  a->admitted = NULL;
  pthread_mutex_unlock(&a->admit_mu);
  while (ad) {
    admit *next = ad->next;
    if (ad->rc == WARM_ENOSPACE)
      reply_error(ad->r, 507, NULL, NULL, "%s", ad->err.msg);
    else if (ad->rc)
      reply_error(ad->r, 500, NULL, NULL, "cannot check the job's memory: %s",
                  ad->err.msg);
    else
      submit_job(a, ad->r, &ad->job.p);
    wh_api_job_free(&ad->job);
    free(ad);
    a->admitting--;
    ad = next;
  }
}

/* The field a resolve error names first: a body field, or a body field's
 * sub-field ("video_guidance.cfg"), followed by ' ' or ':'. */
static int blamed_field(const char *msg, char *out, size_t n) {
  size_t k = strcspn(msg, " :");
  if (!msg[k] || k == 0 || k >= n) return 0;
  size_t top = strcspn(msg, ".");
  if (top > k) top = k;
  for (size_t i = 0; i < wh_api_n_job_fields; i++)
    if (strlen(wh_api_job_fields[i]) == top &&
        !strncmp(msg, wh_api_job_fields[i], top)) {
      memcpy(out, msg, k);
      out[k] = '\0';
      return 1;
    }
  return 0;
}

static void post_generation(wh_api *a, wh_http_req *r) {
  if (a->draining || a->shutting) {
    wh_jobs_note_draining(a->jobs);
    reply_error(r, 503, NULL, NULL, "warmd is draining: not taking new jobs");
    return;
  }
  if (!affinity_ok(r->affinity)) {
    reply_error(r, 400, NULL, NULL,
                "X-Warmd-Affinity: at most 128 printable ASCII characters");
    return;
  }
  wh_api_job job;
  char msg[512], field[64];
  int st = wh_api_parse_job(r->body, r->body_len, &job, msg, sizeof msg,
                            field, sizeof field);
  if (st) {
    reply_error(r, st, field, NULL, "%s", msg);
    return;
  }
  warm_error err = {0};
  int rc = a->o.resolve ? a->o.resolve(a->o.run_user, &job.p, &err)
                        : wh_pipeline_resolve(a->o.rt, &job.p, &err);
  if (rc) {
    /* The pipeline names the parameter first ("frames = 10: ...",
     * "video_guidance.stg_blocks: ..."); anything else is the server's
     * configuration, not the request. */
    char blame[64];
    if (blamed_field(err.msg, blame, sizeof blame))
      reply_error(r, 422, blame, NULL, "%s", err.msg);
    else
      reply_error(r, 503, NULL, NULL, "cannot run jobs: %s", err.msg);
    wh_api_job_free(&job);
    return;
  }
  if (a->admit_ex) {
    admit *ad = calloc(1, sizeof *ad);
    if (ad) *ad = (admit){.a = a, .r = r, .job = job};
    if (ad && wh_executor_submit(a->admit_ex, admit_run, admit_done, ad) == 0) {
      a->admitting++;
      return; /* answered from on_wake */
    }
    free(ad);
    wh_api_job_free(&job);
    reply_error(r, 500, NULL, NULL, "cannot check the job's memory");
    return;
  }
  submit_job(a, r, &job.p);
  wh_api_job_free(&job);
}

/* Queues a checked job and answers the POST. Loop thread. */
static void submit_job(wh_api *a, wh_http_req *r, const wh_job_params *p) {
  if (a->draining || a->shutting) {
    wh_jobs_note_draining(a->jobs);
    reply_error(r, 503, NULL, NULL, "warmd is draining: not taking new jobs");
    return;
  }
  warm_error err = {0};
  char id[WH_JOB_ID_MAX];
  int rc = wh_jobs_submit(a->jobs, p, id, &err);
  if (rc == WH_JOBS_EFULL) {
    reply_error(r, 503, NULL, "Retry-After: 5\r\n", "%s", err.msg);
  } else if (rc) {
    /* WARM_ENOSPACE: the job's image does not fit the host budget. */
    reply_error(r,
                rc == WH_JOBS_EDRAINING ? 503
                : rc == WARM_ENOSPACE   ? 507
                                        : 500,
                NULL, NULL, "%s", err.msg);
  } else {
    snprintf(r->log_job, sizeof r->log_job, "%s", id);
    json_t *o = json_pack("{s:s, s:s}", "id", id, "state", "queued");
    if (o && r->affinity[0])
      json_object_set_new(o, "affinity", json_string(r->affinity));
    reply_json(r, 202, o, NULL);
  }
}

/* The affinity header is a front's hash key: printable ASCII, 1..128. */
static int affinity_ok(const char *s) {
  size_t n = strlen(s);
  if (n > 128) return 0;
  for (; *s; s++)
    if (*s < 0x20 || *s > 0x7e) return 0;
  return 1;
}

static void get_metrics(wh_api *a, wh_http_req *r) {
  char why[1024];
  wh_metrics_src src = {.rt = a->o.rt,
                        .cache = a->o.cache,
                        .jobs = a->jobs,
                        .ready = ready(a, why, sizeof why),
                        .draining = a->draining || a->shutting};
  if (a->o.counters) a->o.counters(a->o.counters_user, &src);
  wh_strbuf sb = {0};
  wh_metrics_render(a->metrics, &src, &sb);
  if (sb.oom) {
    wh_sb_free(&sb);
    reply_error(r, 500, NULL, NULL, "out of memory");
    return;
  }
  wh_http_respond(r, 200, "text/plain; version=0.0.4; charset=utf-8", sb.p,
                  sb.len, NULL);
  wh_sb_free(&sb);
}

/* DELETE of a finished job (in the table, or only a folder in output_dir,
 * from before a restart): its files go, then the record. The removal is a
 * handful of unlinks in one folder, done here on the loop thread. */
static void delete_finished(wh_api *a, wh_http_req *r, const char *id,
                            int in_table) {
  char base[4096];
  wh_retention_base(a->o.rt, a->o.output_dir, base, sizeof base);
  if (!in_table && !wh_retention_has_job(base, id)) {
    reply_error(r, 404, NULL, NULL, "no such job");
    return;
  }
  warm_error err = {0};
  int rc = wh_retention_remove_job(base, id, &err);
  if (rc && rc != WH_JOBS_ENOTFOUND) {
    reply_error(r, 500, NULL, NULL, "%s", err.msg);
    return;
  }
  if (in_table) wh_jobs_forget(a->jobs, id);
  wh_log_job(2, "http", id, "deleted: its files are removed");
  reply_json(r, 200, json_pack("{s:s, s:s}", "id", id, "state", "deleted"),
             NULL);
}

/* GET /v1/status: what the web page shows, read-only. The same views as
 * the admin socket's `show components|memory|cache json` and `show jobs`. */
static void get_status(wh_api *a, wh_http_req *r) {
  char why[256] = "";
  int ok = ready(a, why, sizeof why);
  wh_jobs_stats st;
  wh_jobs_stats_get(a->jobs, &st);
  json_t *o = json_pack(
      "{s:s, s:b, s:s, s:b, s:I, s:I, s:o*, s:o*, s:o*, s:o*, s:o*}",
      "version",
      WARMD_VERSION, "ready", ok, "reason", why, "draining",
      a->draining || a->shutting, "queue_depth", (json_int_t)st.queue_depth,
      "max_queue", (json_int_t)st.max_queue, "components",
      wh_status_components(a->o.rt), "devices", wh_status_memory(a->o.rt),
      "host", wh_status_host(a->o.rt),
      "cache", wh_status_cache(a->o.cache), "jobs",
      wh_jobs_list_json(a->jobs));
  reply_json(r, o ? 200 : 500, o, "Cache-Control: no-store\r\n");
}

/* /v1/generations/{id}[/video|/video.mp4|/audio.wav] */
static void job_route(wh_api *a, wh_http_req *r, const char *rest) {
  char id[WH_JOB_ID_MAX];
  const char *slash = strchr(rest, '/');
  size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
  int mp4 = slash && !strcmp(slash, "/video.mp4");
  int wav = slash && !strcmp(slash, "/audio.wav");
  int video = mp4 || wav || (slash && !strcmp(slash, "/video"));
  if ((slash && !video) || idlen >= WH_JOB_ID_MAX) goto not_found;
  memcpy(id, rest, idlen);
  id[idlen] = '\0';
  if (!wh_job_id_valid(id)) goto not_found;
  snprintf(r->log_job, sizeof r->log_job, "%s", id);

  if (video) {
    if (r->method != HTTP_GET) goto not_allowed_get;
    char dir[4096], path[4200];
    wh_job_state st;
    int rc = wh_jobs_done_dir(a->jobs, id, dir, sizeof dir, &st);
    if (rc == WH_JOBS_ENOTFOUND) goto not_found;
    if (rc) {
      reply_error(r, 409, NULL, NULL, "job %s is %s: no video", id,
                  wh_job_state_name(st));
      return;
    }
    snprintf(path, sizeof path, "%s/%s", dir,
             wav ? "audio.wav" : mp4 ? "video.mp4" : "video.y4m");
    wh_http_respond_file(r,
                         wav   ? "audio/wav"
                         : mp4 ? "video/mp4"
                               : "video/x-yuv4mpeg",
                         path,
                         wav ? "{\"error\":\"the job has no audio.wav (a "
                               "silent job, or the file is gone)\"}"
                             : "{\"error\":\"the job's video file is "
                               "gone\"}");
    return;
  }
  if (r->method == HTTP_GET) {
    json_t *o = wh_jobs_get_json(a->jobs, id);
    if (!o) goto not_found;
    reply_json(r, 200, o, NULL);
    return;
  }
  if (r->method == HTTP_DELETE) {
    warm_error err = {0};
    int rc = wh_jobs_cancel(a->jobs, id, &err);
    if (rc == WH_JOBS_EFINISHED || rc == WH_JOBS_ENOTFOUND) {
      delete_finished(a, r, id, rc == WH_JOBS_EFINISHED);
      return;
    }
    json_t *o = wh_jobs_get_json(a->jobs, id);
    if (!o) goto not_found; /* forgotten meanwhile */
    reply_json(r, 202, o, NULL);
    return;
  }
  reply_error(r, 405, NULL, "Allow: GET, DELETE\r\n", "method %s not allowed",
              r->method_name);
  return;
not_allowed_get:
  reply_error(r, 405, NULL, "Allow: GET\r\n", "method %s not allowed",
              r->method_name);
  return;
not_found:
  reply_error(r, 404, NULL, NULL, "no such job");
}

/* With api keys configured: 1 when r may go on (its key's name noted for
 * the access log), else answers 401 and returns 0. The keys belong to the
 * running config, read under rt->lock (a reload may swap it). */
static int authorised(wh_api *a, wh_http_req *r) {
  const char *path = r->path;
  /* The probes, and the web page itself (static, no data: its own calls to
   * the API carry the token or are refused). */
  if (!strcmp(path, "/healthz") || !strcmp(path, "/readyz") ||
      !strcmp(path, "/") || !strcmp(path, "/index.html"))
    return 1;
  wh_runtime *rt = a->o.rt;
  pthread_mutex_lock(&rt->lock);
  const wh_config *c = rt->config;
  int rc = 0;
  if (c && c->api_keys &&
      !(c->auth_exempt_metrics && !strcmp(path, "/metrics"))) {
    const char *name = NULL;
    rc = wh_auth_check(c->api_keys, r->authorization, &name);
    if (!rc) snprintf(r->log_key, sizeof r->log_key, "%s", name);
  }
  pthread_mutex_unlock(&rt->lock);
  if (rc == 0) return 1;
  if (rc == WH_AUTH_MISSING)
    reply_error(r, 401, NULL, "WWW-Authenticate: Bearer realm=\"warmd\"\r\n",
                "this API needs 'Authorization: Bearer TOKEN'");
  else
    reply_error(r, 401, NULL,
                "WWW-Authenticate: Bearer realm=\"warmd\", "
                "error=\"invalid_token\"\r\n",
                "the bearer token is not valid");
  return 0;
}

static void handle(wh_http_req *r) {
  wh_api *a = r->app;
  const char *path = r->path;
  static const char prefix[] = "/v1/generations/";
  int get = r->method == HTTP_GET;
  if (!authorised(a, r)) return;
  if (!strcmp(path, "/healthz") || !strcmp(path, "/readyz") ||
      !strcmp(path, "/metrics")) {
    if (!get) {
      reply_error(r, 405, NULL, "Allow: GET\r\n", "method %s not allowed",
                  r->method_name);
    } else if (path[1] == 'h') {
      reply_json(r, 200, json_pack("{s:s}", "status", "ok"), NULL);
    } else if (path[1] == 'r') {
      char why[1024];
      if (ready(a, why, sizeof why))
        reply_json(r, 200, json_pack("{s:s}", "status", "ready"), NULL);
      else
        reply_json(
            r, 503,
            json_pack("{s:s, s:s}", "status", "not ready", "reason", why),
            NULL);
    } else {
      get_metrics(a, r);
    }
  } else if (!strcmp(path, "/") || !strcmp(path, "/index.html") ||
             !strcmp(path, "/v1/status")) {
    if (!get)
      reply_error(r, 405, NULL, "Allow: GET\r\n", "method %s not allowed",
                  r->method_name);
    else if (path[1] == 'v')
      get_status(a, r);
    else
      wh_http_respond(r, 200, "text/html; charset=utf-8",
                      (const char *)wh_web_index, wh_web_index_len,
                      "Cache-Control: no-cache\r\n");
  } else if (!strcmp(path, "/v1/generations")) {
    if (r->method == HTTP_POST)
      post_generation(a, r);
    else
      reply_error(r, 405, NULL, "Allow: POST\r\n", "method %s not allowed",
                  r->method_name);
  } else if (!strncmp(path, prefix, sizeof prefix - 1)) {
    job_route(a, r, path + sizeof prefix - 1);
  } else {
    reply_error(r, 404, NULL, NULL, "no route %s", path);
  }
}

/* ---- start, drain, shutdown -------------------------------------------------
 */

static void shutdown_step(wh_api *a);

static void notify(void *user) {
  uv_async_send(&((wh_api *)user)->wake);
}

static void on_wake(uv_async_t *h) {
  wh_api *a = h->data;
  if (a->retention) wh_retention_kick(a->retention);
  finish_admissions(a);
  if (a->shutting) shutdown_step(a);
}

int wh_api_start(uv_loop_t *loop, const wh_api_opts *o, wh_api **out,
                 warm_error *err) {
  wh_api *a = calloc(1, sizeof *a);
  if (!a) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  a->loop = loop;
  a->o = *o;
  if (!(a->o.shutdown_timeout_s > 0)) a->o.shutdown_timeout_s = 30;
  int rc = wh_metrics_create(&a->metrics);
  if (rc) {
    free(a);
    return warm_error_set(err, rc, "out of memory");
  }
  pthread_mutex_init(&a->admit_mu, NULL);
  /* A custom resolver has its own idea of a job: no admission then. */
  if (!o->resolve && (rc = wh_executor_create("admit", &a->admit_ex))) {
    wh_metrics_destroy(a->metrics);
    pthread_mutex_destroy(&a->admit_mu);
    free(a);
    return warm_error_set(err, rc, "cannot start the admission thread");
  }
  uv_async_init(loop, &a->wake, on_wake);
  a->wake.data = a;
  uv_timer_init(loop, &a->timeout);
  a->timeout.data = a;
  a->handles_open = 2;
  wh_jobs_opts jo = {.rt = o->rt,
                     .cache = o->cache,
                     .output_dir = o->output_dir,
                     .instance_id = o->instance_id,
                     .max_queue = o->max_queue,
                     .restore = o->restore_jobs,
                     .metrics = a->metrics,
                     .run = o->run,
                     .run_user = o->run_user,
                     .notify = notify,
                     .notify_user = a};
  wh_http_limits lim = o->limits;
  if (o->instance_id) {
    snprintf(a->server_headers, sizeof a->server_headers,
             "Warmd-Instance: %.63s\r\n", o->instance_id);
    lim.server_headers = a->server_headers;
  }
  if ((rc = wh_jobs_create(&jo, &a->jobs, err)) == 0 &&
      (rc = wh_http_server_start(loop, o->listen, &lim, handle, a, &a->http,
                                 err)) == 0) {
    a->http_open = 1;
    if (wh_retention_start(loop, o->rt, a->jobs, o->output_dir,
                           &a->retention) == 0)
      a->retention_open = 1;
    else
      wh_warn("cannot start the job retention sweeper: out of memory");
    *out = a;
    return 0;
  }
  /* Undo: the job thread is idle, so joining is immediate. */
  wh_jobs_destroy(a->jobs);
  a->jobs = NULL;
  a->shutting = 1;
  a->done = NULL;
  shutdown_step(a); /* closes the handles and frees a */
  return rc;
}

wh_jobs *wh_api_jobs(wh_api *a) {
  return a->jobs;
}
wh_metrics *wh_api_metrics(wh_api *a) {
  return a->metrics;
}
int wh_api_port(const wh_api *a) {
  return wh_http_server_port(a->http);
}

void wh_api_drain(wh_api *a) {
  a->draining = 1;
  wh_jobs_drain(a->jobs);
}

void wh_api_config_changed(wh_api *a) {
  if (a->retention) wh_retention_kick(a->retention);
}

void wh_api_resume(wh_api *a) {
  if (a->shutting) return;
  a->draining = 0;
  wh_jobs_resume(a->jobs);
}

int wh_api_draining(const wh_api *a) {
  return a->draining || a->shutting;
}

void wh_api_show_jobs(wh_api *a, wh_strbuf *out, int json) {
  wh_jobs_stats st;
  wh_jobs_stats_get(a->jobs, &st);
  json_t *list = wh_jobs_list_json(a->jobs);
  if (json) {
    json_t *o = json_pack(
        "{s:b, s:I, s:I, s:o}", "draining", a->draining || a->shutting,
        "queue_depth", (json_int_t)st.queue_depth, "max_queue",
        (json_int_t)st.max_queue, "jobs", list ? list : json_array());
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (s)
      wh_sb_printf(out, "%s", s);
    else
      out->oom = 1;
    free(s);
    return;
  }
  wh_sb_printf(out, "draining: %s\nqueue: %zu/%zu",
               a->draining || a->shutting ? "yes" : "no", st.queue_depth,
               st.max_queue);
  size_t i;
  json_t *j;
  json_array_foreach(list, i, j) {
    const char *prompt = json_string_value(json_object_get(j, "prompt"));
    char cut[61];
    snprintf(cut, sizeof cut, "%s", prompt ? prompt : "");
    wh_api_one_line(cut); /* a newline would end the admin reply early */
    wh_sb_printf(out, "\n%s %-9s %3.0f%% %s",
                 json_string_value(json_object_get(j, "id")),
                 json_string_value(json_object_get(j, "state")),
                 100 * json_real_value(json_object_get(j, "progress")), cut);
  }
  json_decref(list);
}

static void handle_closed(uv_handle_t *h) {
  wh_api *a = h->data;
  a->handles_open--;
  shutdown_step(a);
}

static void retention_closed(void *arg) {
  wh_api *a = arg;
  a->retention_open = 0;
  shutdown_step(a);
}

static void http_closed(void *arg) {
  wh_api *a = arg;
  a->http_open = 0;
  shutdown_step(a);
}

static void on_timeout(uv_timer_t *t) {
  wh_api *a = t->data;
  a->timed_out = 1;
  wh_warn("shutdown_timeout (%.3g s) passed: cancelling the jobs left",
          a->o.shutdown_timeout_s);
  wh_jobs_cancel_all(a->jobs, "cancelled: warmd stopped before the job "
                              "could finish (shutdown_timeout)");
  shutdown_step(a);
}

/* Advances the stop as far as it can; called from every event that might
 * let it move (job finished, timer, handle closed). */
static void shutdown_step(wh_api *a) {
  if (a->admitting) return; /* their replies come back through on_wake */
  if (a->jobs && !wh_jobs_idle(a->jobs)) return; /* a job notify returns */
  if (a->retention) { /* it uses the job table: it goes first */
    wh_retention *r = a->retention;
    a->retention = NULL;
    wh_retention_stop(r, retention_closed, a);
  }
  if (a->retention_open) return; /* retention_closed comes back here */
  if (a->jobs) {
    wh_jobs_destroy(a->jobs); /* idle: joins at once */
    a->jobs = NULL;
  }
  if (!a->closing) {
    a->closing = 1;
    uv_timer_stop(&a->timeout);
    uv_close((uv_handle_t *)&a->timeout, handle_closed);
    uv_close((uv_handle_t *)&a->wake, handle_closed);
    if (a->http)
      wh_http_server_stop(a->http, http_closed, a);
    else
      a->http_open = 0;
    a->http = NULL;
    return; /* the close callbacks come back here */
  }
  if (a->handles_open || a->http_open) return;
  void (*done)(void *) = a->done;
  void *arg = a->done_arg;
  wh_executor_destroy(a->admit_ex);
  pthread_mutex_destroy(&a->admit_mu);
  wh_metrics_destroy(a->metrics);
  free(a);
  if (done) done(arg);
}

void wh_api_shutdown(wh_api *a, void (*done)(void *arg), void *arg) {
  if (a->shutting) return;
  a->shutting = 1;
  a->done = done;
  a->done_arg = arg;
  wh_jobs_drain(a->jobs);
  if (!wh_jobs_idle(a->jobs)) {
    wh_info("draining before stop: waiting up to %.3g s for the jobs left",
            a->o.shutdown_timeout_s);
    uv_timer_start(&a->timeout, on_timeout,
                   (uint64_t)(a->o.shutdown_timeout_s * 1000), 0);
  }
  shutdown_step(a);
}
