/*
 * host/executor.h — one worker thread running operations strictly in the
 * order they were submitted. warmd has one per device (control ops now, jobs
 * later) and one "loader" (config loads, plugin creation). Submitting is
 * thread-safe; results cross back to the loop through the caller's `done`
 * (which typically posts to the loop with wh_daemon_post).
 */
#ifndef WH_EXECUTOR_H
#define WH_EXECUTOR_H

typedef struct wh_executor wh_executor;

/* Runs on the executor thread. Returns 0 or a negative code. */
typedef int (*wh_op_fn)(void *arg);
/* Runs on the executor thread right after fn, with fn's result. */
typedef void (*wh_op_done)(void *arg, int rc);

/* name: for thread names and logs (copied). */
int wh_executor_create(const char *name, wh_executor **out);
/* Runs every op still queued, then joins the thread. */
void wh_executor_destroy(wh_executor *ex);

/* Queues fn; done (may be NULL) follows it. Returns 0, or WARM_ENOMEM /
 * WARM_EINVAL (executor stopping), in which case neither is ever called. */
int wh_executor_submit(wh_executor *ex, wh_op_fn fn, wh_op_done done,
                       void *arg);
/* Queues fn and blocks until it ran; returns its result. Must not be called
 * on ex's own thread (it would wait on itself: returns WARM_EINTERNAL). */
int wh_executor_call(wh_executor *ex, wh_op_fn fn, void *arg);
/* 1 when the calling thread is ex's thread. */
int wh_executor_is_current(const wh_executor *ex);

#endif /* WH_EXECUTOR_H */
