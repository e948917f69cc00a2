/*
 * pool.c — the cpu compute pool and the cpu context.
 *
 * One pool per process (the cpu is device 0, the only one), shared by every
 * context: contexts attach to it and the last one to go stops it. Workers
 * sleep on a condition variable between jobs (no spinning), and BLAS is
 * told to run single-threaded, since the GEMMs are split over this pool
 * (see linear.c), so the process never runs more compute threads than the
 * pool has. Jobs from different contexts (different host threads) take
 * turns: a job holds the pool until its last chunk is done. A parallel call
 * made from inside a job (a worker, or the submitter while its job runs)
 * runs inline as one chunk.
 *
 * Size: a context asks for `threads` (0 = the process default: the value
 * given to wk_cpu_set_threads, else the cores in the affinity mask); the
 * pool grows to the largest request and never shrinks while attached, and
 * each context splits its work over at most its own count.
 */
#include <cblas.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu.h"
#include "dnnl.h"

#define WKCPU_MAX_THREADS 256

typedef struct pool {
  int n; /* workers including the submitting thread */
  pthread_t th[WKCPU_MAX_THREADS];
  pthread_mutex_t run; /* held by the submitter for a whole job */
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

/* The process's pool, its attached contexts and the default size. */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pool *g_pool;
static int g_refs;
static int g_default;

/* Set while this thread runs a chunk or submits a job: nested calls run
 * inline instead of waiting on the pool they are part of. */
static _Thread_local int in_job;

typedef struct worker_arg {
  pool *p;
  int id;
  uint64_t gen; /* the job generation when it was started */
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
  in_job = 1;
  uint64_t seen = wa.gen;
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

/* Stops and joins every worker; frees the pool. */
static void pool_stop(pool *p) {
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->go);
  pthread_mutex_unlock(&p->mu);
  for (int i = 1; i < p->n; i++)
    pthread_join(p->th[i], NULL);
  pthread_cond_destroy(&p->go);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  pthread_mutex_destroy(&p->run);
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

/* Grows p to n workers with every signal blocked in the new threads, so
 * signal delivery stays with the host's own threads. No job may run. On
 * failure p keeps the workers it managed to start. */
static int pool_grow(pool *p, int n) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = 0;
  while (p->n < n) {
    worker_arg *wa = malloc(sizeof *wa);
    if (!wa) {
      err = ENOMEM;
      break;
    }
    wa->p = p;
    wa->id = p->n;
    wa->gen = p->gen;
    err = pthread_create(&p->th[p->n], NULL, worker_main, wa);
    if (err) {
      free(wa);
      break;
    }
    p->n++;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return err;
}

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

/* The GEMMs are split over the pool; OpenBLAS's own threads would only
 * compete with it (and its pthread build spins after each call). */
static void blas_single(void) {
  openblas_set_num_threads(1);
}

void wk_cpu_set_threads(int threads) {
  if (threads < 0) threads = 0;
  if (threads > WKCPU_MAX_THREADS) threads = WKCPU_MAX_THREADS;
  pthread_mutex_lock(&g_mu);
  g_default = threads;
  pthread_mutex_unlock(&g_mu);
}

int wk_cpu_pool_threads(void) {
  pthread_mutex_lock(&g_mu);
  int n = g_pool ? g_pool->n : 0;
  pthread_mutex_unlock(&g_mu);
  return n;
}

int wkcpu_ctx_init(wk_ctx *c) {
  pthread_once(&blas_once, blas_single);
  pthread_mutex_lock(&g_mu);
  int n = c->threads ? c->threads : g_default ? g_default : usable_cores();
  if (n > WKCPU_MAX_THREADS) n = WKCPU_MAX_THREADS;
  pool *p = g_pool;
  if (!p) {
    p = calloc(1, sizeof *p);
    if (!p) {
      pthread_mutex_unlock(&g_mu);
      return wk__fail(c, WK_ENOMEM, "wkcpu: out of memory");
    }
    p->n = 1;
    pthread_mutex_init(&p->run, NULL);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    g_pool = p;
  }
  int err = 0;
  if (p->n < n) {
    pthread_mutex_lock(&p->run); /* no job while workers are added */
    err = pool_grow(p, n);
    pthread_mutex_unlock(&p->run);
  }
  if (err) {
    if (g_refs == 0) {
      pool_stop(p);
      g_pool = NULL;
    }
    pthread_mutex_unlock(&g_mu);
    return wk__fail(c, WK_ENOMEM, "wkcpu: cannot start worker thread: %s",
                    strerror(err));
  }
  g_refs++;
  pthread_mutex_unlock(&g_mu);
  c->threads = n;
  c->cpu = p;
  return 0;
}

void wkcpu_ctx_fini(wk_ctx *c) {
  if (!c->cpu) return;
  pthread_mutex_lock(&g_mu);
  if (--g_refs == 0) {
    pool_stop(g_pool);
    g_pool = NULL;
    wkcpu__dnnl_release();
  }
  pthread_mutex_unlock(&g_mu);
  c->cpu = NULL;
}

int wkcpu__threads(const wk_ctx *c) {
  return c->cpu ? c->threads : 1;
}

void wkcpu__parallel(wk_ctx *c, int64_t n, int64_t grain, wkcpu__range_fn fn,
                     void *arg) {
  pool *p = c->cpu;
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int64_t want = (n + grain - 1) / grain;
  int chunks = p ? (want < c->threads ? (int)want : c->threads) : 1;
  if (chunks <= 1 || in_job) {
    fn(arg, 0, n, 0);
    return;
  }
  pthread_mutex_lock(&p->run);
  in_job = 1;
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
  in_job = 0;
  pthread_mutex_unlock(&p->run);
}
