/*
 * dnnl.c — oneDNN glue for the cpu backend: one engine, a stream per
 * thread, a cache of matmul primitives keyed by shape, and the f32 GEMM
 * every cpu op uses (dnnl_sgemm: its AVX-512 kernels ran 1.3 to 2.3 times
 * Debian OpenBLAS 0.3.21's, which picks its Haswell kernels on this cpu, on
 * every tile shape the ops run; OpenBLAS stays the fallback).
 *
 * Debian's oneDNN uses the OpenMP runtime. Every call here comes from a
 * thread of the compute pool (or its submitter) with its own slice of the
 * work, so each such thread sets its OpenMP thread count to 1 first: oneDNN
 * then runs the primitive on the calling thread and never starts OpenMP
 * workers of its own. Primitives are created once per shape and reused
 * (primitive descriptor creation costs far more than a small GEMM). Each
 * call gets its scratchpad from the caller (the thread's slice of the op
 * workspace): the library-managed one is shared by concurrent executions
 * of the same primitive, which corrupts results.
 */
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>

#include "cpu.h"
#include "dnnl.h"

void omp_set_num_threads(int n); /* libgomp, which oneDNN links */

#define CACHE_MAX 512

typedef struct prim_entry {
  int64_t M, K, N, ldd;
  int acc;
  dnnl_primitive_t prim;
  size_t scratch; /* bytes of its user-provided scratchpad */
} prim_entry;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static dnnl_engine_t engine;
static int usable;  /* 1: engine up and the cpu has AVX512-BF16 or AMX */
static int no_dnnl; /* WK_CPU_NO_DNNL set: OpenBLAS and decoded weights */
static prim_entry cache[CACHE_MAX];
static int n_cache;
static pthread_key_t stream_key;

static void stream_free(void *s) {
  dnnl_stream_destroy(s);
}

static void init_once(void) {
  if (pthread_key_create(&stream_key, stream_free) != 0) return;
  if (getenv("WK_CPU_NO_DNNL")) { /* benchmarks: the OpenBLAS paths */
    no_dnnl = 1;
    return;
  }
  dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  if (isa != dnnl_cpu_isa_avx512_core_bf16 &&
      isa != dnnl_cpu_isa_avx512_core_amx)
    return;
  if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return;
  usable = 1;
}

int wkcpu__dnnl_bf16(void) {
  pthread_once(&once, init_once);
  return usable;
}

dnnl_engine_t wkcpu__dnnl_engine(void) {
  pthread_once(&once, init_once);
  return usable ? engine : NULL;
}

/* Set once per thread before its first oneDNN call: run on this thread. */
static _Thread_local int omp_single;

static void thread_single(void) {
  if (!omp_single) {
    omp_set_num_threads(1);
    omp_single = 1;
  }
}

void wkcpu__sgemm(int ta, int tb, int64_t M, int64_t N, int64_t K, float alpha,
                  const float *A, int64_t lda, const float *B, int64_t ldb,
                  float beta, float *C, int64_t ldc) {
  pthread_once(&once, init_once);
  if (!no_dnnl) {
    thread_single();
    if (dnnl_sgemm(ta ? 'T' : 'N', tb ? 'T' : 'N', M, N, K, alpha, A, lda, B,
                   ldb, beta, C, ldc) == dnnl_success)
      return;
  }
  cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
              tb ? CblasTrans : CblasNoTrans, (int)M, (int)N, (int)K, alpha, A,
              (int)lda, B, (int)ldb, beta, C, (int)ldc);
}

/* This thread's stream (created on first use; freed when the thread ends). */
dnnl_stream_t wkcpu__dnnl_stream(void) {
  dnnl_stream_t s = pthread_getspecific(stream_key);
  if (s) return s;
  thread_single();
  if (dnnl_stream_create(&s, engine, dnnl_stream_default_flags) != dnnl_success)
    return NULL;
  pthread_setspecific(stream_key, s);
  return s;
}

/* dst[M, N] (f32, row stride ldd) = src[M, K] . wei^T for src bf16
 * row-major (stride K) and wei bf16 [N, K] row-major. */
static void descs(int64_t M, int64_t K, int64_t N, int64_t ldd,
                  dnnl_memory_desc_t *src, dnnl_memory_desc_t *wei,
                  dnnl_memory_desc_t *dst) {
  dnnl_dims_t sd = {M, K}, ss = {K, 1};
  dnnl_dims_t wd = {K, N}, ws = {1, K};
  dnnl_dims_t dd = {M, N}, ds = {ldd, 1};
  dnnl_memory_desc_init_by_strides(src, 2, sd, dnnl_bf16, ss);
  dnnl_memory_desc_init_by_strides(wei, 2, wd, dnnl_bf16, ws);
  dnnl_memory_desc_init_by_strides(dst, 2, dd, dnnl_f32, ds);
}

/* acc: a sum post-op, so the product is added to what dst holds. */
static dnnl_primitive_t create_prim(int64_t M, int64_t K, int64_t N,
                                    int64_t ldd, int acc, size_t *scratch) {
  dnnl_memory_desc_t src, wei, dst;
  descs(M, K, N, ldd, &src, &wei, &dst);
  dnnl_matmul_desc_t md;
  if (dnnl_matmul_desc_init(&md, &src, &wei, NULL, &dst) != dnnl_success)
    return NULL;
  dnnl_primitive_attr_t attr;
  if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
  dnnl_post_ops_t po = NULL;
  dnnl_primitive_t p = NULL;
  dnnl_primitive_desc_t pd;
  int ok = dnnl_primitive_attr_set_scratchpad_mode(
               attr, dnnl_scratchpad_mode_user) == dnnl_success;
  if (ok && acc)
    ok = dnnl_post_ops_create(&po) == dnnl_success &&
         dnnl_post_ops_append_sum(po, 1.0f) == dnnl_success &&
         dnnl_primitive_attr_set_post_ops(attr, po) == dnnl_success;
  if (ok && dnnl_primitive_desc_create(&pd, &md, attr, engine, NULL) ==
                dnnl_success) {
    const dnnl_memory_desc_t *sm =
        dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    *scratch = sm ? dnnl_memory_desc_get_size(sm) : 0;
    if (dnnl_primitive_create(&p, pd) != dnnl_success) p = NULL;
    dnnl_primitive_desc_destroy(pd);
  }
  if (po) dnnl_post_ops_destroy(po);
  dnnl_primitive_attr_destroy(attr);
  return p;
}

/* The cached primitive for a shape and its scratchpad size; *owned says
 * the caller must destroy it (the cache was full). */
static dnnl_primitive_t get_prim(int64_t M, int64_t K, int64_t N, int64_t ldd,
                                 int acc, size_t *scratch, int *owned) {
  *owned = 0;
  pthread_mutex_lock(&mu);
  for (int i = 0; i < n_cache; i++) {
    const prim_entry *e = &cache[i];
    if (e->M == M && e->K == K && e->N == N && e->ldd == ldd && e->acc == acc) {
      dnnl_primitive_t p = e->prim;
      *scratch = e->scratch;
      pthread_mutex_unlock(&mu);
      return p;
    }
  }
  dnnl_primitive_t p = create_prim(M, K, N, ldd, acc, scratch);
  if (p && n_cache < CACHE_MAX)
    cache[n_cache++] = (prim_entry){M, K, N, ldd, acc, p, *scratch};
  else if (p)
    *owned = 1;
  pthread_mutex_unlock(&mu);
  return p;
}

size_t wkcpu__dnnl_scratch_bytes(int64_t M, int64_t K, int64_t N, int64_t ldd,
                                 int acc) {
  if (!wkcpu__dnnl_bf16()) return 0;
  size_t b = 0;
  int owned;
  dnnl_primitive_t p = get_prim(M, K, N, ldd, acc, &b, &owned);
  if (p && owned) dnnl_primitive_destroy(p);
  return b;
}

int wkcpu__dnnl_matmul_bf16(const uint16_t *src, int64_t M, int64_t K,
                            const uint16_t *wei, int64_t N, float *dst,
                            int64_t ldd, int acc, void *scratch,
                            size_t scratch_bytes) {
  if (!wkcpu__dnnl_bf16()) return -1;
  int owned;
  size_t need = 0;
  dnnl_primitive_t p = get_prim(M, K, N, ldd, acc, &need, &owned);
  if (!p) return -1;
  if (need > scratch_bytes) {
    if (owned) dnnl_primitive_destroy(p);
    return -1;
  }
  dnnl_memory_desc_t sd, wd, dd;
  descs(M, K, N, ldd, &sd, &wd, &dd);
  int rc = wkcpu__dnnl_run(p, &sd, src, &wd, wei, &dd, dst, scratch, need);
  if (owned) dnnl_primitive_destroy(p);
  return rc;
}

int wkcpu__dnnl_run(dnnl_primitive_t p, const dnnl_memory_desc_t *src_md,
                    const void *src, const dnnl_memory_desc_t *wei_md,
                    const void *wei, const dnnl_memory_desc_t *dst_md,
                    void *dst, void *scratch, size_t scratch_bytes) {
  dnnl_engine_t eng = wkcpu__dnnl_engine();
  dnnl_stream_t s = wkcpu__dnnl_stream();
  if (!eng || !s) return -1;
  dnnl_memory_desc_t pd;
  dnnl_dims_t pdims = {(dnnl_dim_t)scratch_bytes};
  dnnl_memory_desc_init_by_tag(&pd, 1, pdims, dnnl_u8, dnnl_a);
  dnnl_memory_t ms = NULL, mw = NULL, md = NULL, mp = NULL;
  int rc = -1;
  if (dnnl_memory_create(&ms, src_md, eng, (void *)src) == dnnl_success &&
      dnnl_memory_create(&mw, wei_md, eng, (void *)wei) == dnnl_success &&
      dnnl_memory_create(&md, dst_md, eng, dst) == dnnl_success &&
      dnnl_memory_create(&mp, &pd, eng, scratch) == dnnl_success) {
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, ms},
                               {DNNL_ARG_WEIGHTS, mw},
                               {DNNL_ARG_DST, md},
                               {DNNL_ARG_SCRATCHPAD, mp}};
    if (dnnl_primitive_execute(p, s, scratch_bytes ? 4 : 3, args) ==
            dnnl_success &&
        dnnl_stream_wait(s) == dnnl_success)
      rc = 0;
  }
  dnnl_memory_destroy(ms);
  dnnl_memory_destroy(mw);
  dnnl_memory_destroy(md);
  dnnl_memory_destroy(mp);
  return rc;
}

void wkcpu__dnnl_release(void) {
  pthread_mutex_lock(&mu);
  for (int i = 0; i < n_cache; i++)
    dnnl_primitive_destroy(cache[i].prim);
  n_cache = 0;
  pthread_mutex_unlock(&mu);
  wkcpu__conv_dnnl_release();
}
