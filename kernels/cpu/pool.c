/*
 * pool.c — the cpu context: a persistent pthread pool used by the ops that
 * pay for threads (see cpu.h for the split rule and the thread contract).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"

#define WKCPU_MAX_THREADS 256

typedef struct pool {
  int n; /* workers including the caller */
  pthread_t *th;
  pthread_mutex_t mu;
  pthread_cond_t go, done;
  uint64_t gen; /* bumped per job */
  int pending;  /* workers still running the current job */
  int stop;
  wkcpu__range_fn fn;
  void *arg;
  int64_t total;
  int chunks;
} pool;

typedef struct worker_arg {
  pool *p;
  int id;
} worker_arg;

static void run_chunk(pool *p, int id) {
  if (id >= p->chunks) return;
  int64_t b = p->total * id / p->chunks, e = p->total * (id + 1) / p->chunks;
  if (b < e) p->fn(p->arg, b, e, id);
}

static void *worker_main(void *v) {
  worker_arg wa = *(worker_arg *)v;
  free(v);
  pool *p = wa.p;
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->gen == seen)
      pthread_cond_wait(&p->go, &p->mu);
    if (p->stop) break;
    seen = p->gen;
    pthread_mutex_unlock(&p->mu);
    run_chunk(p, wa.id);
    pthread_mutex_lock(&p->mu);
    if (--p->pending == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

static void pool_stop(pool *p, int started) {
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < started; i++)
    pthread_join(p->th[i], NULL);
  pthread_cond_destroy(&p->go);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  free(p->th);
  free(p);
}

/* Cores this process may run on (its affinity mask, e.g. a container's
 * cpuset), falling back to the online count. */
static int usable_cores(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return CPU_COUNT(&set);
  long online = sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? (int)online : 1;
}

/* Starts threads-1 workers with every signal blocked, so signal delivery
 * stays with the host's own threads. */
int wkcpu_ctx_init(wk_ctx *c) {
  int n = c->threads;
  if (n == 0) n = usable_cores();
  if (n > WKCPU_MAX_THREADS) n = WKCPU_MAX_THREADS;
  pool *p = calloc(1, sizeof *p);
  if (!p) return wk__fail(c, WK_ENOMEM, "wkcpu: out of memory");
  p->n = n;
  p->th = calloc((size_t)n, sizeof *p->th);
  if (!p->th) {
    free(p);
    return wk__fail(c, WK_ENOMEM, "wkcpu: out of memory");
  }
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->go, NULL);
  pthread_cond_init(&p->done, NULL);
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int started = 0, err = 0;
  for (int i = 1; i < n; i++) {
    worker_arg *wa = malloc(sizeof *wa);
    if (!wa) {
      err = ENOMEM;
      break;
    }
    wa->p = p;
    wa->id = i;
    err = pthread_create(&p->th[started], NULL, worker_main, wa);
    if (err) {
      free(wa);
      break;
    }
    started++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err) {
    pool_stop(p, started);
    return wk__fail(c, WK_ENOMEM, "wkcpu: cannot start worker thread: %s",
                    strerror(err));
  }
  c->threads = n;
  c->cpu = p;
  return 0;
}

void wkcpu_ctx_fini(wk_ctx *c) {
  pool *p = c->cpu;
  if (!p) return;
  pool_stop(p, p->n - 1);
  c->cpu = NULL;
}

int wkcpu__threads(const wk_ctx *c) {
  const pool *p = c->cpu;
  return p ? p->n : 1;
}

void wkcpu__parallel(wk_ctx *c, int64_t n, int64_t grain, wkcpu__range_fn fn,
                     void *arg) {
  pool *p = c->cpu;
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t want = (n + grain - 1) / grain;
  int chunks = p ? (want < p->n ? (int)want : p->n) : 1;
  if (chunks <= 1) {
    fn(arg, 0, n, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->arg = arg;
  p->total = n;
  p->chunks = chunks;
  p->pending = p->n - 1;
  p->gen++;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  run_chunk(p, 0);
  pthread_mutex_lock(&p->mu);
  while (p->pending > 0)
    pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}
