/*
 * http_harness.h — the embedded server for test_http.c: wh_api on a libuv
 * loop thread (commands posted to it through a uv_async), a runtime with
 * the hello_encoder plugin, the job runner and resolver described in
 * test_http.c, setup, and client helpers over http_testutil.h. One
 * translation unit includes it (it defines the server state S).
 */
#ifndef HTTP_HARNESS_H
#define HTTP_HARNESS_H

#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sys/stat.h>
#include <uv.h>

#include "http_api.h"
#include "http_testutil.h"
#include "log.h"
#include "media.h"
#include "reload.h"
#include "wh_testutil.h"

typedef struct srv {
  char dir[512];
  wh_runtime *rt;
  wh_embcache *cache;
  uv_loop_t loop;
  uv_async_t ctl;
  pthread_t th;
  wh_api *api;
  int port;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int cmd; /* CMD_* for the loop thread */
  int started, start_rc, shutdown_done;
  int gate_open, holding;
  /* what the last job that ran was given (test_http_ltx2.c) */
  size_t seen_image_len;
  uint64_t seen_image_hash; /* FNV-1a of the bytes */
  wh_strbuf shown[2];       /* show jobs: text, json */
  /* options for the next start */
  size_t max_queue, max_body;
  uint64_t request_timeout_ms;
  double shutdown_timeout_s;
} srv;

enum { CMD_NONE, CMD_DRAIN, CMD_RESUME, CMD_SHUTDOWN, CMD_SHOW_JOBS };

static srv S;

/* ---- the job runner and resolver ------------------------------------------
 */

static int test_resolve(void *user, wh_job_params *p, warm_error *err) {
  srv *s = user;
  pthread_mutex_lock(&s->rt->lock);
  wh_cfg_pipeline pl = s->rt->config->pipeline;
  pthread_mutex_unlock(&s->rt->lock);
  if (!p->frames) p->frames = pl.frames;
  if (!p->height) p->height = pl.height;
  if (!p->width) p->width = pl.width;
  if (!p->steps) p->steps = pl.steps;
  if (!p->fps) p->fps = 24;
  if (!(p->guidance > 0)) p->guidance = 1;
  /* The rules of an 8x spatial, 8x temporal decoder, as the LTX VAE. */
  if ((p->frames - 1) % 8)
    return warm_error_set(err, WARM_EINVAL,
                          "frames = %u: must be 1 + a multiple of 8",
                          p->frames);
  if (p->height % 8 || p->width % 8)
    return warm_error_set(err, WARM_EINVAL, "%s = %u: must be a multiple of 8",
                          p->height % 8 ? "height" : "width",
                          p->height % 8 ? p->height : p->width);
  return 0;
}

static double now_s(void) {
  return wt_now();
}

static int cancelled(wh_job_ctl *ctl) {
  return __atomic_load_n(&ctl->cancel, __ATOMIC_ACQUIRE);
}

static int test_run(void *user, const char *id, const wh_job_params *p,
                    const char *dir, wh_job_ctl *ctl, char **result,
                    warm_error *err) {
  srv *s = user;
  if (mkdir(dir, 0755) && errno != EEXIST) {
    /* output_dir itself is made by the test */
    return warm_error_set(err, WARM_EIO, "%s: %s", dir, strerror(errno));
  }
  uint64_t hash = 0xcbf29ce484222325ull;
  for (size_t i = 0; p->image && i < p->image_len; i++)
    hash = (hash ^ p->image[i]) * 0x100000001b3ull;
  pthread_mutex_lock(&s->mu);
  s->seen_image_len = p->image ? p->image_len : 0;
  s->seen_image_hash = hash;
  pthread_mutex_unlock(&s->mu);
  double t0 = now_s();
  warm_tensor t[2];
  const char *placement = NULL;
  char fp[65];
  int hit = 0;
  int rc = wh_pipeline_encode(s->rt, s->cache, "text_encoder", p->prompt, t,
                              &placement, fp, &hit, ctl, err);
  if (rc) return rc;
  double t1 = now_s();
  /* A per-channel tint from the embeddings, so the video depends on the
   * prompt and the encoder really ran. */
  float tint[3] = {0, 0, 0};
  int64_t ne = warm_tensor_numel(&t[0]);
  for (int64_t i = 0; i < ne; i++)
    tint[i % 3] += ((float *)t[0].data)[i];
  warm_tensor_free(&t[0]);
  warm_tensor_free(&t[1]);

  if (!strncmp(p->prompt, "hold", 4)) {
    pthread_mutex_lock(&s->mu);
    s->holding++;
    pthread_cond_broadcast(&s->cv);
    while (!s->gate_open && !cancelled(ctl)) {
      struct timespec ts;
      clock_gettime(CLOCK_REALTIME, &ts);
      ts.tv_nsec += 5000000;
      if (ts.tv_nsec >= 1000000000) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000;
      }
      pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    s->holding--;
    pthread_mutex_unlock(&s->mu);
  }
  const int64_t F = p->frames, H = p->height, W = p->width;
  float *fr = malloc(sizeof *fr * 3 * F * H * W);
  if (!fr) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  for (uint32_t step = 0; step < p->steps; step++) {
    if (cancelled(ctl)) {
      free(fr);
      return warm_error_set(err, WARM_ECANCELED, "cancelled at step %u", step);
    }
    for (int64_t c = 0; c < 3; c++)
      for (int64_t i = 0; i < F * H * W; i++)
        fr[c * F * H * W + i] =
            tanhf(tint[c] * 0.01f + (float)((i + p->seed) % 97) / 97.0f - 0.5f +
                  0.01f * (float)step);
    float prog = (float)(step + 1) / (float)p->steps;
    __atomic_store(&ctl->progress, &prog, __ATOMIC_RELAXED);
  }
  double t2 = now_s();
  char path[1024];
  snprintf(path, sizeof path, "%s/video.y4m", dir);
  rc = wh_write_y4m(path, fr, F, H, W, p->fps, err);
  free(fr);
  if (rc) return rc;
  double t3 = now_s();
  json_t *r = json_pack(
      "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:{s:f, s:f, s:f, s:f}, s:b, "
      "s:{s:{s:s, s:s, s:I}}}",
      "id", id, "prompt", p->prompt, "seed", (json_int_t)p->seed, "frames",
      (json_int_t)F, "height", (json_int_t)H, "width", (json_int_t)W, "steps",
      (json_int_t)p->steps, "timings", "encode", t1 - t0, "denoise.test",
      t2 - t1, "decode", t3 - t2, "total", t3 - t0, "cache_hit", hit,
      "components", "text_encoder", "placement", placement, "device", "cpu",
      "streamed_bytes", (json_int_t)1000);
  *result = json_dumps(r, JSON_INDENT(2));
  json_decref(r);
  snprintf(path, sizeof path, "%s/result.json", dir);
  FILE *f = fopen(path, "w");
  if (f) {
    fputs(*result, f);
    fclose(f);
  }
  return 0;
}

/* ---- the server thread -----------------------------------------------------
 */

static void on_shutdown_done(void *arg) {
  srv *s = arg;
  s->api = NULL;
  pthread_mutex_lock(&s->mu);
  s->shutdown_done = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  uv_close((uv_handle_t *)&s->ctl, NULL);
}

/* Runs the posted command, then clears it: send_cmd returns only after the
 * command has taken effect, and `shown` is swapped in under the mutex the
 * test reads it under. */
static void on_ctl(uv_async_t *h) {
  srv *s = h->data;
  pthread_mutex_lock(&s->mu);
  int cmd = s->cmd;
  pthread_mutex_unlock(&s->mu);
  if (s->api) {
    if (cmd == CMD_DRAIN) wh_api_drain(s->api);
    if (cmd == CMD_RESUME) wh_api_resume(s->api);
    if (cmd == CMD_SHUTDOWN) wh_api_shutdown(s->api, on_shutdown_done, s);
  }
  wh_strbuf shown[2] = {{0}, {0}};
  if (s->api && cmd == CMD_SHOW_JOBS) {
    wh_api_show_jobs(s->api, &shown[0], 0);
    wh_api_show_jobs(s->api, &shown[1], 1);
  }
  pthread_mutex_lock(&s->mu);
  if (cmd == CMD_SHOW_JOBS)
    for (int i = 0; i < 2; i++) {
      wh_sb_free(&s->shown[i]);
      s->shown[i] = shown[i];
    }
  if (s->cmd == cmd) s->cmd = CMD_NONE;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void *server_main(void *arg) {
  srv *s = arg;
  uv_loop_init(&s->loop);
  uv_async_init(&s->loop, &s->ctl, on_ctl);
  s->ctl.data = s;
  char out[600];
  snprintf(out, sizeof out, "%s/out", s->dir);
  wh_api_opts o = {.listen = "127.0.0.1:0",
                   .limits = {.max_body = s->max_body,
                              .request_timeout_ms = s->request_timeout_ms},
                   .max_queue = s->max_queue,
                   .shutdown_timeout_s = s->shutdown_timeout_s,
                   .output_dir = out,
                   .rt = s->rt,
                   .cache = s->cache,
                   .run = test_run,
                   .run_user = s,
                   .resolve = test_resolve};
  warm_error err = {0};
  int rc = wh_api_start(&s->loop, &o, &s->api, &err);
  if (rc) fprintf(stderr, "wh_api_start: %s\n", err.msg);
  pthread_mutex_lock(&s->mu);
  s->start_rc = rc;
  s->port = rc ? 0 : wh_api_port(s->api);
  s->started = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
  if (rc) uv_close((uv_handle_t *)&s->ctl, NULL);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&s->loop)) fprintf(stderr, "loop closed with handles\n");
  return NULL;
}

static void send_cmd(int cmd) {
  pthread_mutex_lock(&S.mu);
  S.cmd = cmd;
  pthread_mutex_unlock(&S.mu);
  uv_async_send(&S.ctl);
  pthread_mutex_lock(&S.mu);
  double end = wt_now() + 30;
  while (S.cmd != CMD_NONE && wt_now() < end) {
    pthread_mutex_unlock(&S.mu);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL); /* waiting for the loop thread to take it */
    pthread_mutex_lock(&S.mu);
  }
  pthread_mutex_unlock(&S.mu);
}

/* Starts the API with the given options (0 = defaults). */
static int server_start(size_t max_queue, size_t max_body,
                        uint64_t request_timeout_ms, double shutdown_s) {
  S.max_queue = max_queue;
  S.max_body = max_body;
  S.request_timeout_ms = request_timeout_ms;
  S.shutdown_timeout_s = shutdown_s;
  S.started = S.shutdown_done = 0;
  S.gate_open = 0;
  pthread_create(&S.th, NULL, server_main, &S);
  pthread_mutex_lock(&S.mu);
  while (!S.started)
    pthread_cond_wait(&S.cv, &S.mu);
  pthread_mutex_unlock(&S.mu);
  return S.start_rc;
}

static void open_gate(void) {
  pthread_mutex_lock(&S.mu);
  S.gate_open = 1;
  pthread_cond_broadcast(&S.cv);
  pthread_mutex_unlock(&S.mu);
}

/* The graceful stop; returns the seconds it took. */
static double server_stop(void) {
  double t0 = wt_now();
  send_cmd(CMD_SHUTDOWN);
  pthread_join(S.th, NULL);
  return wt_now() - t0;
}

static int wait_holding(int n) {
  double end = wt_now() + 10;
  pthread_mutex_lock(&S.mu);
  while (S.holding < n && wt_now() < end) {
    pthread_mutex_unlock(&S.mu);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&S.mu);
  }
  int ok = S.holding >= n;
  pthread_mutex_unlock(&S.mu);
  return ok;
}

/* ---- client helpers
 * ---------------------------------------------------------- */

static json_t *body_json(const ht_resp *r) {
  return json_loadb(r->body, r->body_len, 0, NULL);
}

static const char *jstr(json_t *o, const char *k) {
  return json_string_value(json_object_get(o, k));
}

/* POST a job; returns its id (static buffer per call site is the caller's). */
static int post_job(int port, const char *body, char *id) {
  ht_resp r;
  ht_request(port, "POST", "/v1/generations", body, &r);
  int st = r.status;
  json_t *j = body_json(&r);
  if (st == 202 && id)
    snprintf(id, 32, "%s", jstr(j, "id") ? jstr(j, "id") : "");
  json_decref(j);
  ht_free(&r);
  return st;
}

/* Polls a job until it leaves queued/running; returns its JSON. */
static json_t *wait_job(int fd_or_port, int use_fd, const char *id,
                        double timeout_s) {
  char path[128];
  snprintf(path, sizeof path, "/v1/generations/%s", id);
  double end = wt_now() + timeout_s;
  while (wt_now() < end) {
    ht_resp r;
    if (use_fd)
      ht_request_fd(fd_or_port, "GET", path, NULL, &r, 10);
    else
      ht_request(fd_or_port, "GET", path, NULL, &r);
    json_t *j = r.status == 200 ? body_json(&r) : NULL;
    ht_free(&r);
    const char *st = j ? jstr(j, "state") : NULL;
    if (!j || !st) return j;
    if (strcmp(st, "queued") && strcmp(st, "running")) return j;
    json_decref(j);
    struct timespec ts = {0, 2000000};
    nanosleep(&ts, NULL); /* polling interval of a client */
  }
  return NULL;
}

static const char *metric_line(const char *text, const char *prefix, char *out,
                               size_t n) {
  const char *p = strstr(text, prefix);
  out[0] = '\0';
  if (!p) return NULL;
  const char *e = strchr(p + 1, '\n');
  snprintf(out, n, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
  return out;
}

static double metric(int port, const char *name) {
  ht_resp r;
  ht_request(port, "GET", "/metrics", NULL, &r);
  char line[512];
  char key[300];
  snprintf(key, sizeof key, "\n%s ", name);
  double v = -1;
  if (metric_line(r.body, key, line, sizeof line)) v = atof(line + strlen(key));
  if (v < 0) fprintf(stderr, "metric %s missing in:\n%s\n", name, r.body);
  ht_free(&r);
  return v;
}

/* ---- setup
 * ---------------------------------------------------------------------- */

static int setup(void) {
  char plugins[1024];
  snprintf(plugins, sizeof plugins, "%s/plugins/hello_encoder.so",
           WARM_BUILD_DIR);
  if (access(plugins, R_OK) != 0) {
    printf("SKIP: %s is not built\n", plugins);
    return 77;
  }
  wt_tempdir(S.dir, sizeof S.dir, "http");
  char cfg[1024], out[1024];
  snprintf(cfg, sizeof cfg, "%s/warmd.ini", S.dir);
  snprintf(out, sizeof out, "%s/out", S.dir);
  mkdir(out, 0755);
  wt_write(cfg,
           "[host]\nplugin_dir = %s/plugins\nadmin_socket = %s/admin.sock\n"
           "output_dir = %s\nlog_level = warn\n"
           "[device cpu]\nbudget = 256MiB\n[cache]\nembeddings = 16MiB\n"
           "[component text_encoder]\nplugin = hello_encoder\ndevice = cpu\n"
           "placement = resident\ndim = 64\nbuckets = 1024\n"
           "[pipeline]\nencoder = text_encoder\nframes = 9\nheight = 32\n"
           "width = 32\nsteps = 2\n",
           WARM_BUILD_DIR, S.dir, out);
  pthread_mutex_init(&S.mu, NULL);
  pthread_cond_init(&S.cv, NULL);
  if (wh_runtime_create(&S.rt)) return 1;
  S.rt->live = 1;
  wh_config *c = NULL;
  wh_plan *plan = NULL;
  if (wh_config_load(cfg, &c) || c->n_errors) {
    for (size_t i = 0; c && i < c->n_errors; i++)
      fprintf(stderr, "%s\n", c->errors[i]);
    return 1;
  }
  if (wh_reload_prepare(S.rt, c, &plan)) {
    for (size_t i = 0; i < c->n_errors; i++)
      fprintf(stderr, "%s\n", c->errors[i]);
    return 1;
  }
  char summary[256];
  warm_error e = {0};
  if (wh_reload_commit(S.rt, plan, summary, sizeof summary, &e)) {
    fprintf(stderr, "commit: %s\n", e.msg);
    return 1;
  }
  wh_config_free(c);
  if (wh_embcache_create(16u << 20, &S.cache)) return 1;
  wh_log_set_level(getenv("WARM_TEST_VERBOSE") ? 2 : 1);
  return 0;
}

/* Frees what setup() made and removes its folder; the exit status. */
static int teardown(void) {
  wh_sb_free(&S.shown[0]);
  wh_sb_free(&S.shown[1]);
  wh_embcache_destroy(S.cache);
  wh_runtime_destroy(S.rt);
  pthread_mutex_destroy(&S.mu);
  pthread_cond_destroy(&S.cv);
  wt_rmtree(S.dir);
  if (wt_failures) fprintf(stderr, "%d check(s) failed\n", wt_failures);
  return wt_failures ? 1 : 0;
}

#endif /* HTTP_HARNESS_H */
