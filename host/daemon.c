/*
 * host/daemon.c — the warmd loop, signals, reload orchestration and graceful
 * stop (see daemon.h).
 */
#include "daemon.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crash.h"
#include "fdlimit.h"
#include "http_api.h"
#include "log.h"
#include "notify.h"
#include "reload.h"

/* ---- posting to the loop
 * ---------------------------------------------------------- */

static void wake_cb(uv_async_t *h) {
  wh_daemon *d = h->data;
  pthread_mutex_lock(&d->post_lock);
  wh_posted *p = d->post_head;
  d->post_head = d->post_tail = NULL;
  pthread_mutex_unlock(&d->post_lock);
  while (p) {
    wh_posted *next = p->next;
    p->cb(p->arg);
    free(p);
    p = next;
  }
}

void wh_daemon_post(wh_daemon *d, void (*cb)(void *), void *arg) {
  wh_posted *p = malloc(sizeof *p);
  if (!p) { /* cannot queue: nothing better than logging it */
    wh_error("out of memory posting to the loop; a reply is lost");
    return;
  }
  *p = (wh_posted){cb, arg, NULL};
  pthread_mutex_lock(&d->post_lock);
  if (d->post_tail)
    d->post_tail->next = p;
  else
    d->post_head = p;
  d->post_tail = p;
  pthread_mutex_unlock(&d->post_lock);
  uv_async_send(&d->wake);
}

/* ---- loading a config (shared by start and reload)
 * ------------------------------- */

/* Joins a config's errors into one line for an admin reply. */
static void join_errors(const wh_config *c, char *out, size_t n) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < c->n_errors && used + 1 < n; i++) {
    int w = snprintf(out + used, n - used, "%s%s", i ? "; " : "", c->errors[i]);
    if (w < 0) break;
    used += (size_t)w;
  }
}

/* Loads, validates and applies the file. On failure fills msg (errors joined
 * with "; ") and logs each error; the runtime is unchanged. With `jobs`,
 * the commit falls between jobs: a running job holds pointers to the
 * components a commit may replace. */
static int load_and_apply(wh_runtime *rt, const char *path, char *msg, size_t n,
                          wh_jobs *jobs) {
  wh_config *cfg = NULL;
  int rc = wh_config_load(path, &cfg);
  if (rc) {
    snprintf(msg, n, "%s: out of memory", path);
    return rc;
  }
  wh_plan *plan = NULL;
  rc = cfg->n_errors ? WARM_EINVAL : wh_reload_prepare(rt, cfg, &plan);
  if (rc) {
    for (size_t i = 0; i < cfg->n_errors; i++)
      wh_error("%s", cfg->errors[i]);
    join_errors(cfg, msg, n);
    wh_config_free(cfg);
    return rc ? rc : WARM_EINVAL;
  }
  char summary[2048];
  warm_error e = {0};
  if (jobs) wh_jobs_hold(jobs);
  rc = wh_reload_commit(rt, plan, summary, sizeof summary, &e);
  if (jobs) wh_jobs_release(jobs);
  if (rc)
    snprintf(msg, n, "%s: applied with errors: %s", path, e.msg);
  else
    snprintf(msg, n, "%s: %s", path, summary);
  pthread_mutex_lock(&rt->lock);
  int level = rt->config ? rt->config->log_level : WARM_LOG_INFO;
  int format = rt->config ? rt->config->log_format : WH_LOG_TEXT;
  pthread_mutex_unlock(&rt->lock);
  wh_log_set_level(level);
  wh_log_set_format(format);
  wh_config_free(cfg);
  return rc;
}

/* ---- reload
 * ------------------------------------------------------------------------- */

typedef struct reload_job {
  wh_daemon *d;
  wh_jobs *jobs; /* taken on the loop thread; outlives the reload */
  int rc;
  char msg[4096];
} reload_job;

static int start_reload(wh_daemon *d);

/* Answers every admin client waiting on a reload; frees the list. */
static void finish_waiters(wh_waiter *w, int rc, const char *msg) {
  while (w) {
    wh_waiter *next = w->next;
    if (rc)
      wh_admin_fail(w->req, rc == WARM_EINVAL ? 400 : 500, "reload failed: %s",
                    msg);
    else
      wh_sb_printf(&w->req->out, "reloaded %s", msg);
    wh_admin_finish(w->req);
    free(w);
    w = next;
  }
}

static void try_finish_stop(wh_daemon *d);
static void maybe_stop_api(wh_daemon *d);

/* Loop thread, after a reload job: counters, log, replies, then the
 * coalesced next reload (or the rest of a stop). */
static void reload_done_loop(void *arg) {
  reload_job *j = arg;
  wh_daemon *d = j->d;
  d->inflight--;
  d->reload_running = 0;
  if (j->rc) {
    d->reloads_failed++;
    wh_error("reload failed, running configuration unchanged: %s", j->msg);
  } else {
    d->reloads_ok++;
    wh_info("reloaded %s", j->msg);
    pthread_mutex_lock(&d->rt->lock);
    uint64_t budget = d->rt->config ? d->rt->config->cache_embeddings : 0;
    pthread_mutex_unlock(&d->rt->lock);
    if (d->cache) wh_embcache_set_budget(d->cache, budget);
    if (d->api) wh_api_config_changed(d->api);
  }
  snprintf(d->last_reload, sizeof d->last_reload, "%s: %.1000s",
           j->rc ? "failed" : "ok", j->msg);
  wh_waiter *w = d->waiters_now;
  d->waiters_now = NULL;
  finish_waiters(w, j->rc, j->msg);
  free(j);
  if (d->reload_pending && !d->stopping) {
    d->reload_pending = 0;
    d->waiters_now = d->waiters_next;
    d->waiters_next = NULL;
    if (start_reload(d) != 0) {
      w = d->waiters_now;
      d->waiters_now = NULL;
      finish_waiters(w, WARM_ENOMEM, "cannot start the reload");
      try_finish_stop(d);
    }
  } else {
    wh_waiter *rest = d->waiters_next;
    d->waiters_next = NULL;
    while (rest) {
      wh_waiter *next = rest->next;
      wh_admin_fail(rest->req, 409, "warmd is shutting down");
      wh_admin_finish(rest->req);
      free(rest);
      rest = next;
    }
    if (!d->stopping) wh_notify_ready("serving");
    maybe_stop_api(d);
    try_finish_stop(d);
  }
}

static int reload_run(void *arg) {
  reload_job *j = arg;
  j->rc = load_and_apply(j->d->rt, j->d->config_path, j->msg, sizeof j->msg,
                         j->jobs);
  return j->rc;
}

static void reload_done(void *arg, int rc) {
  reload_job *j = arg;
  (void)rc;
  wh_daemon_post(j->d, reload_done_loop, j);
}

static int start_reload(wh_daemon *d) {
  reload_job *j = calloc(1, sizeof *j);
  if (j) {
    j->d = d;
    j->jobs = d->api ? wh_api_jobs(d->api) : NULL;
  }
  if (!j || wh_executor_submit(d->loader, reload_run, reload_done, j) != 0) {
    free(j);
    return WARM_ENOMEM;
  }
  d->reload_running = 1;
  d->inflight++;
  wh_notify_reloading();
  wh_info("reloading %s", d->config_path);
  return 0;
}

int wh_daemon_reload(wh_daemon *d, wh_admin_req *req) {
  if (d->stopping)
    return req ? wh_admin_fail(req, 409, "warmd is shutting down")
               : WH_REPLY_DONE;
  wh_waiter *w = NULL;
  if (req) {
    if (!(w = calloc(1, sizeof *w)))
      return wh_admin_fail(req, 500, "out of memory");
    w->req = req;
  }
  if (d->reload_running) {
    /* Coalesce: everything asked meanwhile shares the next reload. */
    d->reload_pending = 1;
    if (w) {
      w->next = d->waiters_next;
      d->waiters_next = w;
    }
    return WH_REPLY_LATER;
  }
  if (start_reload(d) != 0) {
    free(w);
    return req ? wh_admin_fail(req, 500, "cannot start the reload")
               : WH_REPLY_DONE;
  }
  if (w) {
    w->next = d->waiters_now;
    d->waiters_now = w;
  }
  return WH_REPLY_LATER;
}

/* ---- control operations
 * -------------------------------------------------------------- */

typedef struct control_job {
  wh_daemon *d;
  wh_admin_req *req;
  void (*fn)(wh_daemon *d, wh_admin_req *req);
} control_job;

static int control_run(void *arg) {
  control_job *j = arg;
  j->fn(j->d, j->req);
  return 0;
}

static void control_done_loop(void *arg) {
  control_job *j = arg;
  wh_daemon *d = j->d;
  d->inflight--;
  wh_admin_finish(j->req);
  free(j);
  maybe_stop_api(d);
  try_finish_stop(d);
}

static void control_done(void *arg, int rc) {
  control_job *j = arg;
  (void)rc;
  wh_daemon_post(j->d, control_done_loop, j);
}

int wh_daemon_control(wh_daemon *d, wh_admin_req *req,
                      void (*fn)(wh_daemon *d, wh_admin_req *req)) {
  if (d->stopping) return wh_admin_fail(req, 409, "warmd is shutting down");
  control_job *j = calloc(1, sizeof *j);
  if (!j) return wh_admin_fail(req, 500, "out of memory");
  *j = (control_job){d, req, fn};
  if (wh_executor_submit(d->loader, control_run, control_done, j) != 0) {
    free(j);
    return wh_admin_fail(req, 500, "cannot queue the operation");
  }
  d->inflight++;
  return WH_REPLY_LATER;
}

/* ---- signals and stop
 * ------------------------------------------------------------------ */

static void on_signal(uv_signal_t *h, int signum) {
  wh_daemon *d = h->data;
  if (signum == SIGHUP) {
    wh_info("SIGHUP: reload");
    wh_daemon_reload(d, NULL);
  } else {
    wh_info("%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
    wh_daemon_stop(d);
  }
}

/* The last step of a stop: once no loader job can post back, close the
 * loop's own handles so uv_run returns. */
static void try_finish_stop(wh_daemon *d) {
  if (!d->stopping || d->closed || d->inflight) return;
  d->closed = 1;
  wh_notify_watchdog_stop();
  uv_close((uv_handle_t *)&d->wake, NULL);
  uv_close((uv_handle_t *)&d->sig_hup, NULL);
  uv_close((uv_handle_t *)&d->sig_term, NULL);
  uv_close((uv_handle_t *)&d->sig_int, NULL);
}

/* The HTTP data plane has drained (or cancelled past shutdown_timeout),
 * closed its server and joined its job thread. */
static void api_stopped(void *arg) {
  wh_daemon *d = arg;
  d->api = NULL;
  d->inflight--;
  wh_info("HTTP data plane stopped");
  try_finish_stop(d);
}

/* Starts the data plane's graceful stop once stopping and no loader work
 * is in flight (a reload or swap may be holding the job table, and reads
 * d->api). */
static void maybe_stop_api(wh_daemon *d) {
  if (!d->stopping || !d->api || d->api_stopping || d->inflight) return;
  d->api_stopping = 1;
  d->inflight++; /* api_stopped brings it back down */
  wh_api_shutdown(d->api, api_stopped, d);
}

void wh_daemon_stop(wh_daemon *d) {
  if (d->stopping) return;
  d->stopping = 1;
  wh_notify_stopping();
  wh_admin_server_stop(d->admin);
  wh_admin_server_stop(d->stats);
  d->admin = d->stats = NULL;
  maybe_stop_api(d);
  try_finish_stop(d);
}

/* /metrics: the counters the daemon owns. Loop thread. */
static void api_counters(void *user, wh_metrics_src *src) {
  wh_daemon *d = user;
  src->reloads_ok = d->reloads_ok;
  src->reloads_failed = d->reloads_failed;
  src->swaps_ok = __atomic_load_n(&d->swaps_ok, __ATOMIC_RELAXED);
  src->swaps_failed = __atomic_load_n(&d->swaps_failed, __ATOMIC_RELAXED);
}

/* Creates the embedding cache and, with [host] http_listen, starts the
 * HTTP data plane on the loop. */
static int start_data_plane(wh_daemon *d, const wh_config *cfg,
                            warm_error *err) {
  int rc = wh_embcache_create(cfg->cache_embeddings, &d->cache);
  if (rc) return warm_error_set(err, rc, "cannot create the embedding cache");
  if (!cfg->http_listen) return 0;
  size_t cap = wh_fdlimit_http_cap(d->nofile, wh_fd_count());
  wh_info("HTTP connections at most %zu (RLIMIT_NOFILE %llu, %d kept for "
          "the admin socket and files)",
          cap, (unsigned long long)d->nofile, WH_FD_RESERVE);
  wh_api_opts o = {.listen = cfg->http_listen,
                   .instance_id = cfg->instance_id,
                   .limits = {.max_body = cfg->max_body, .max_conns = cap},
                   .max_queue = cfg->max_queue,
                   .restore_jobs = 1,
                   .shutdown_timeout_s = cfg->shutdown_timeout,
                   .rt = d->rt,
                   .cache = d->cache,
                   .counters = api_counters,
                   .counters_user = d};
  if (!(o.shutdown_timeout_s > 0)) o.shutdown_timeout_s = 1e-3; /* at once */
  rc = wh_api_start(&d->loop, &o, &d->api, err);
  if (rc == 0)
    wh_info("HTTP data plane on %s (port %d)", cfg->http_listen,
            wh_api_port(d->api));
  return rc;
}

/* ---- init / run / close
 * ------------------------------------------------------------------ */

int wh_daemon_init(wh_daemon *d, const char *path, warm_error *err) {
  memset(d, 0, sizeof *d);
  d->started = time(NULL);
  d->nofile = wh_fdlimit_raise();
  if (!(d->config_path = strdup(path)))
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  pthread_mutex_init(&d->post_lock, NULL);
  int rc = uv_loop_init(&d->loop);
  if (rc) {
    pthread_mutex_destroy(&d->post_lock);
    free(d->config_path);
    return warm_error_set(err, WARM_EINTERNAL, "uv_loop_init: %s",
                          uv_strerror(rc));
  }
  /* Signals first: a SIGHUP or SIGTERM that arrives while the config loads
   * (or right after the socket starts accepting) is handled once the loop
   * runs, instead of killing the process with the default action. */
  uv_async_init(&d->loop, &d->wake, wake_cb);
  d->wake.data = d;
  uv_signal_t *sigs[] = {&d->sig_hup, &d->sig_term, &d->sig_int};
  int nums[] = {SIGHUP, SIGTERM, SIGINT};
  for (int i = 0; i < 3; i++) {
    uv_signal_init(&d->loop, sigs[i]);
    sigs[i]->data = d;
    uv_signal_start(sigs[i], on_signal, nums[i]);
  }
  if ((rc = wh_runtime_create(&d->rt)) ||
      (rc = wh_executor_create("loader", &d->loader))) {
    warm_error_set(err, rc, "cannot create the runtime");
    goto fail;
  }
  d->rt->live = 1;
  char msg[4096];
  if ((rc = load_and_apply(d->rt, path, msg, sizeof msg, NULL)) != 0) {
    warm_error_set(err, rc, "%s", msg);
    goto fail;
  }
  wh_info("loaded %s", msg);
  const wh_config *cfg = d->rt->config;
  if ((rc =
           wh_admin_server_start(&d->loop, cfg->admin_socket,
                                 cfg->admin_socket_mode, 0, d, &d->admin, err)))
    goto fail;
  if (cfg->stats_socket &&
      (rc = wh_admin_server_start(&d->loop, cfg->stats_socket,
                                  cfg->stats_socket_mode, 1, d, &d->stats,
                                  err)))
    goto fail;
  if ((rc = start_data_plane(d, cfg, err))) goto fail;
  wh_crash_set_sockets(cfg->admin_socket, cfg->stats_socket);
  wh_info("warmd %s ready: admin socket %s%s%s", WARMD_VERSION,
          cfg->admin_socket, cfg->stats_socket ? ", stats socket " : "",
          cfg->stats_socket ? cfg->stats_socket : "");
  if ((rc = wh_notify_watchdog_start(&d->loop)) != 0)
    wh_warn("cannot start the watchdog timer: %s", uv_strerror(rc));
  wh_notify_ready("serving");
  return 0;
fail:
  wh_admin_server_stop(d->admin);
  wh_admin_server_stop(d->stats);
  uv_close((uv_handle_t *)&d->wake, NULL);
  for (int i = 0; i < 3; i++)
    uv_close((uv_handle_t *)sigs[i], NULL);
  uv_run(&d->loop, UV_RUN_DEFAULT); /* let the close callbacks run */
  wh_executor_destroy(d->loader);
  wh_runtime_destroy(d->rt);
  wh_embcache_destroy(d->cache);
  uv_loop_close(&d->loop);
  pthread_mutex_destroy(&d->post_lock);
  free(d->config_path);
  return rc ? rc : WARM_EINTERNAL;
}

int wh_daemon_run(wh_daemon *d) {
  uv_run(&d->loop, UV_RUN_DEFAULT);
  return 0;
}

void wh_daemon_close(wh_daemon *d) {
  wh_executor_destroy(d->loader);
  wake_cb(&d->wake); /* nothing should be left; run it if something is */
  wh_runtime_destroy(d->rt);
  wh_embcache_destroy(d->cache);
  int rc = uv_loop_close(&d->loop);
  if (rc) wh_warn("loop closed with handles open: %s", uv_strerror(rc));
  pthread_mutex_destroy(&d->post_lock);
  free(d->config_path);
  wh_info("stopped");
}
