/*
 * host/daemon.h — the running warmd: a libuv loop on the main thread
 * (admin sockets, signals, completions), a loader thread for config loads
 * and control operations, and the runtime (devices with their executor
 * threads, components).
 *
 * Signals: SIGHUP reloads (coalescing while one runs), SIGTERM and SIGINT
 * stop gracefully (stop accepting, remove the sockets, let running work
 * finish, exit 0). Work crosses back to the loop with wh_daemon_post.
 */
#ifndef WH_DAEMON_H
#define WH_DAEMON_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "admin.h"
#include "embcache.h"
#include "executor.h"
#include "runtime.h"

typedef struct wh_waiter {
  wh_admin_req *req;
  struct wh_waiter *next;
} wh_waiter;

typedef struct wh_posted {
  void (*cb)(void *arg);
  void *arg;
  struct wh_posted *next;
} wh_posted;

struct wh_api;

typedef struct wh_daemon {
  uv_loop_t loop;
  char *config_path;
  wh_runtime *rt;
  wh_executor *loader;
  wh_admin_server *admin, *stats;
  uv_signal_t sig_hup, sig_term, sig_int;
  uv_async_t wake;
  pthread_mutex_t post_lock;
  wh_posted *post_head, *post_tail;
  /* Loop thread only: */
  int reload_running, reload_pending;
  wh_waiter *waiters_now, *waiters_next; /* clients of this / next reload */
  size_t inflight;                       /* loader jobs that will post back */
  int stopping, closed;
  uint64_t reloads_ok, reloads_failed;
  uint64_t swaps_ok, swaps_failed;
  struct wh_api *api; /* HTTP data plane; NULL without http_listen */
  int api_stopping;   /* its graceful stop has begun */
  wh_embcache *cache; /* embeddings, [cache] embeddings; jobs share it */
  char last_reload[1024];
  time_t started;
  uint64_t nofile; /* RLIMIT_NOFILE soft limit after raising it */
} wh_daemon;

/* Loads and applies the config at `path` (absolute), opens the sockets and
 * installs the signal handlers. On failure everything is undone and every
 * error has been logged. */
int wh_daemon_init(wh_daemon *d, const char *path, warm_error *err);
/* Runs the loop until a graceful stop; returns the exit status (0). */
int wh_daemon_run(wh_daemon *d);
/* After run: joins threads, destroys components, frees everything. */
void wh_daemon_close(wh_daemon *d);

/* Thread-safe: runs cb(arg) on the loop thread soon. */
void wh_daemon_post(wh_daemon *d, void (*cb)(void *), void *arg);
/* Loop thread: starts a reload, or marks one pending when one runs (all
 * requests meanwhile share that next reload). req may be NULL (SIGHUP).
 * With a req: returns WH_REPLY_LATER (req is finished with the result) or
 * WH_REPLY_DONE with an error already in req (never finished from inside
 * this call, so a handler can return the value as is). */
int wh_daemon_reload(wh_daemon *d, wh_admin_req *req);
/* Loop thread: begins the graceful stop. */
void wh_daemon_stop(wh_daemon *d);
/* Loop thread: runs fn on the loader thread (in order with reloads), then
 * finishes req on the loop. fn writes req->out or calls wh_admin_fail. */
int wh_daemon_control(wh_daemon *d, wh_admin_req *req,
                      void (*fn)(wh_daemon *d, wh_admin_req *req));

#endif /* WH_DAEMON_H */
