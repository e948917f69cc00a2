/*
 * host/executor.c — a thread with a FIFO of operations (see executor.h).
 * A mutex + condition variable guard the queue; ops run outside the lock.
 */
#include "executor.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warm/warm.h"

typedef struct op {
  wh_op_fn fn;
  wh_op_done done;
  void *arg;
  struct op *next;
} op;

struct wh_executor {
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t cond;
  op *head, *tail;
  int stopping;
  char name[16];
};

static void *executor_main(void *arg) {
  wh_executor *ex = arg;
  pthread_setname_np(pthread_self(), ex->name);
  pthread_mutex_lock(&ex->lock);
  for (;;) {
    while (!ex->head && !ex->stopping)
      pthread_cond_wait(&ex->cond, &ex->lock);
    op *o = ex->head;
    if (!o) break; /* stopping and drained */
    ex->head = o->next;
    if (!ex->head) ex->tail = NULL;
    pthread_mutex_unlock(&ex->lock);
    int rc = o->fn(o->arg);
    if (o->done) o->done(o->arg, rc);
    free(o);
    pthread_mutex_lock(&ex->lock);
  }
  pthread_mutex_unlock(&ex->lock);
  return NULL;
}

int wh_executor_create(const char *name, wh_executor **out) {
  wh_executor *ex = calloc(1, sizeof *ex);
  if (!ex) return WARM_ENOMEM;
  snprintf(ex->name, sizeof ex->name, "%s", name);
  pthread_mutex_init(&ex->lock, NULL);
  pthread_cond_init(&ex->cond, NULL);
  if (pthread_create(&ex->thread, NULL, executor_main, ex) != 0) {
    pthread_mutex_destroy(&ex->lock);
    pthread_cond_destroy(&ex->cond);
    free(ex);
    return WARM_ENOMEM;
  }
  *out = ex;
  return 0;
}

void wh_executor_destroy(wh_executor *ex) {
  if (!ex) return;
  pthread_mutex_lock(&ex->lock);
  ex->stopping = 1;
  pthread_cond_signal(&ex->cond);
  pthread_mutex_unlock(&ex->lock);
  pthread_join(ex->thread, NULL);
  pthread_mutex_destroy(&ex->lock);
  pthread_cond_destroy(&ex->cond);
  free(ex);
}

int wh_executor_submit(wh_executor *ex, wh_op_fn fn, wh_op_done done,
                       void *arg) {
  op *o = malloc(sizeof *o);
  if (!o) return WARM_ENOMEM;
  *o = (op){fn, done, arg, NULL};
  pthread_mutex_lock(&ex->lock);
  if (ex->stopping) {
    pthread_mutex_unlock(&ex->lock);
    free(o);
    return WARM_EINVAL;
  }
  if (ex->tail)
    ex->tail->next = o;
  else
    ex->head = o;
  ex->tail = o;
  pthread_cond_signal(&ex->cond);
  pthread_mutex_unlock(&ex->lock);
  return 0;
}

typedef struct call_state {
  wh_op_fn fn;
  void *arg;
  int rc, finished;
  pthread_mutex_t lock;
  pthread_cond_t cond;
} call_state;

static int call_run(void *arg) {
  call_state *cs = arg;
  return cs->fn(cs->arg);
}

static void call_done(void *arg, int rc) {
  call_state *cs = arg;
  pthread_mutex_lock(&cs->lock);
  cs->rc = rc;
  cs->finished = 1;
  pthread_cond_signal(&cs->cond);
  pthread_mutex_unlock(&cs->lock);
}

int wh_executor_call(wh_executor *ex, wh_op_fn fn, void *arg) {
  if (wh_executor_is_current(ex)) return WARM_EINTERNAL;
  call_state cs = {.fn = fn, .arg = arg};
  pthread_mutex_init(&cs.lock, NULL);
  pthread_cond_init(&cs.cond, NULL);
  int rc = wh_executor_submit(ex, call_run, call_done, &cs);
  if (rc == 0) {
    pthread_mutex_lock(&cs.lock);
    while (!cs.finished)
      pthread_cond_wait(&cs.cond, &cs.lock);
    pthread_mutex_unlock(&cs.lock);
    rc = cs.rc;
  }
  pthread_mutex_destroy(&cs.lock);
  pthread_cond_destroy(&cs.cond);
  return rc;
}

int wh_executor_is_current(const wh_executor *ex) {
  return pthread_equal(pthread_self(), ex->thread);
}
