/* warm-mkmodel helpers shared by the arches: --set handling, config.json,
 * deterministic tensor values, (sharded) safetensors output, data files. */
#include <errno.h>
#include <pthread.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkmodel.h"
#include "warm/safetensors.h"
#include "wk.h"

#define MK_CHUNK (1u << 22) /* elements generated per write */
#define MK_MAX_THREADS 32

/* ---- config.json --------------------------------------------------------- */

const char *mk_set_get(const mk_ctx *c, const char *key) {
  const char *v = NULL;
  for (size_t i = 0; i < c->n_sets; i++)
    if (strcmp(c->sets[i].key, key) == 0) v = c->sets[i].value; /* last wins */
  return v;
}

static int mk_set_path(json_t *obj, const char *key, json_t *val,
                       warm_error *err) {
  const char *dot = strchr(key, '.');
  if (!dot) {
    if (json_object_set_new(obj, key, val))
      return warm_error_set(err, WARM_EINVAL, "--set %s: bad key", key);
    return 0;
  }
  char head[128];
  size_t n = (size_t)(dot - key);
  if (n == 0 || n >= sizeof head) {
    json_decref(val);
    return warm_error_set(err, WARM_EINVAL, "--set %s: bad key", key);
  }
  memcpy(head, key, n);
  head[n] = '\0';
  json_t *sub = json_object_get(obj, head);
  if (!json_is_object(sub)) {
    sub = json_object();
    json_object_set_new(obj, head, sub);
  }
  return mk_set_path(sub, dot + 1, val, err);
}

int mk_config_apply_sets(json_t *obj, const mk_ctx *c, const char *const *skip,
                         warm_error *err) {
  for (size_t i = 0; i < c->n_sets; i++) {
    int skipped = 0;
    for (size_t k = 0; skip && skip[k]; k++)
      skipped |= strcmp(skip[k], c->sets[i].key) == 0;
    if (skipped) continue;
    json_t *v = json_loads(c->sets[i].value, JSON_DECODE_ANY, NULL);
    if (!v) v = json_string(c->sets[i].value);
    if (!v)
      return warm_error_set(err, WARM_EINVAL, "--set %s: value is not UTF-8",
                            c->sets[i].key);
    int rc = mk_set_path(obj, c->sets[i].key, v, err);
    if (rc) return rc;
  }
  return 0;
}

int mk_config_dim(json_t *obj, const char *key, int64_t *out, warm_error *err) {
  json_t *v = json_object_get(obj, key);
  if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
      json_integer_value(v) > (1ll << 40))
    return warm_error_set(err, WARM_EINVAL,
                          "config key %s must be a positive integer", key);
  *out = json_integer_value(v);
  return 0;
}

int mk_config_write(const mk_ctx *c, json_t *obj, warm_error *err) {
  char path[PATH_MAX];
  snprintf(path, sizeof path, "%s/config.json", c->out_dir);
  if (json_dump_file(obj, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
    return warm_error_set(err, WARM_EIO, "%s: cannot write", path);
  return 0;
}

/* ---- tensors ------------------------------------------------------------- */

int mk_plan_add(mk_plan *p, mk_init init, float mean, float std, int32_t ndim,
                const int64_t *shape, warm_error *err, const char *fmt, ...) {
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    mk_tensor *t = realloc(p->t, cap * sizeof *t);
    if (!t) return warm_error_set(err, WARM_ENOMEM, "out of memory");
    p->t = t;
    p->cap = cap;
  }
  mk_tensor *t = &p->t[p->n];
  memset(t, 0, sizeof *t);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(t->name, sizeof t->name, fmt, ap);
  va_end(ap);
  t->ndim = ndim;
  memcpy(t->shape, shape, (size_t)ndim * sizeof *shape);
  t->init = init;
  t->mean = mean;
  t->std = std;
  p->n++;
  return 0;
}

int mk_plan_add_func(mk_plan *p, mk_fill_fn fill, const double *arg, int n_arg,
                     int32_t ndim, const int64_t *shape, warm_error *err,
                     const char *fmt, ...) {
  char name[160];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(name, sizeof name, fmt, ap);
  va_end(ap);
  uint64_t n = 1;
  for (int32_t i = 0; i < ndim; i++)
    n *= (uint64_t)shape[i];
  if (n > MK_FUNC_MAX)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: a computed tensor of %llu elements is too big",
                          name, (unsigned long long)n);
  int rc = mk_plan_add(p, MK_FUNC, 0, 0, ndim, shape, err, "%s", name);
  if (rc) return rc;
  mk_tensor *t = &p->t[p->n - 1];
  t->fill = fill;
  for (int i = 0; i < n_arg && i < 4; i++)
    t->arg[i] = arg[i];
  return 0;
}

void mk_plan_free(mk_plan *p) {
  free(p->t);
  p->t = NULL;
  p->n = p->cap = 0;
}

#define MK_GAMMA 0x9e3779b97f4a7c15ull

/* splitmix64's output function; call k (0-based) of a generator started at
 * state s0 returns mix64(s0 + (k + 1) * MK_GAMMA), so any element can be
 * computed directly and chunks can be generated in parallel. */
static uint64_t mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

static uint64_t numel(const mk_tensor *t) {
  uint64_t n = 1;
  for (int32_t i = 0; i < t->ndim; i++)
    n *= (uint64_t)t->shape[i];
  return n;
}

/* One job of a parallel chunk: elements [first, first + n) of a tensor. */
typedef struct gen_job {
  const mk_tensor *t;
  uint64_t s0, first;
  size_t n;
  float *f;    /* f32 values */
  uint16_t *h; /* bf16 values, or NULL */
  pthread_t th;
} gen_job;

/* Element e is Irwin-Hall of the uniforms from calls 4e .. 4e+3, rescaled
 * to unit variance: plain arithmetic in a fixed order, so the bytes are the
 * same on every IEEE machine and for any thread count. */
static void *gen_run(void *arg) {
  gen_job *j = arg;
  const mk_tensor *t = j->t;
  for (size_t i = 0; i < j->n; i++) {
    float v = t->mean;
    if (t->init != MK_CONST) {
      uint64_t base = j->s0 + (j->first + i) * 4 * MK_GAMMA;
      double s = 0;
      for (uint64_t k = 0; k < 4; k++)
        s += (double)(mix64(base + (k + 1) * MK_GAMMA) >> 11) *
             (1.0 / 9007199254740992.0);
      v = (float)((s - 2.0) * 1.7320508075688772 * t->std + t->mean);
    }
    j->f[i] = v;
    if (j->h) j->h[i] = wk_f32_to_bf16(v);
  }
  return NULL;
}

/* Fills n elements starting at `first` on up to nthreads threads. */
static void gen_chunk(const mk_tensor *t, uint64_t s0, uint64_t first, float *f,
                      uint16_t *h, size_t n, int nthreads) {
  gen_job jobs[MK_MAX_THREADS];
  int used = 0;
  size_t per = (n + (size_t)nthreads - 1) / (size_t)nthreads;
  if (per < 65536) per = 65536;
  for (size_t o = 0; o < n && used < MK_MAX_THREADS; o += per, used++) {
    gen_job *j = &jobs[used];
    *j = (gen_job){
        t, s0, first + o, n - o < per ? n - o : per, f + o, h ? h + o : NULL,
        0};
    if (used > 0 && pthread_create(&j->th, NULL, gen_run, j) != 0)
      gen_run(j), j->th = 0; /* no thread: do it here */
  }
  if (used) gen_run(&jobs[0]);
  for (int k = 1; k < used; k++)
    if (jobs[k].th) pthread_join(jobs[k].th, NULL);
}

/* Streams one tensor's values into the writer in c->dtype. */
static int write_tensor(const mk_ctx *c, warm_st_writer *w, const mk_tensor *t,
                        float *fbuf, uint16_t *hbuf, int nthreads,
                        warm_error *err) {
  uint64_t s0 = c->seed ^ name_hash(t->name);
  uint64_t total = numel(t), done = 0;
  int bf = c->dtype == WARM_BF16;
  /* --sparse: zero-mean tensors (weights, biases, tables) become holes;
   * the others (norm weights ~ 1, positive statistics) and the computed
   * constants are still written, so a sparse model is all-zero weights
   * with meaningful buffers. */
  if (c->sparse && t->init != MK_FUNC && t->mean == 0.0f)
    return warm_st_writer_skip(w, total * (bf ? 2 : 4), err);
  if (t->init == MK_FUNC) { /* small: MK_FUNC_MAX <= MK_CHUNK */
    t->fill(t, fbuf);
    for (uint64_t i = 0; bf && i < total; i++)
      hbuf[i] = wk_f32_to_bf16(fbuf[i]);
    return bf ? warm_st_writer_write(w, hbuf, total * 2, err)
              : warm_st_writer_write(w, fbuf, total * 4, err);
  }
  while (done < total) {
    size_t n = total - done < MK_CHUNK ? (size_t)(total - done) : MK_CHUNK;
    gen_chunk(t, s0, done, fbuf, bf ? hbuf : NULL, n, nthreads);
    int rc = bf ? warm_st_writer_write(w, hbuf, n * 2, err)
                : warm_st_writer_write(w, fbuf, n * 4, err);
    if (rc) return rc;
    done += n;
  }
  return 0;
}

/* Writes tensors [from, to) of p as one file, with extra metadata. */
static int write_file_meta(const mk_ctx *c, const mk_plan *p, size_t from,
                           size_t to, const char *path, float *fbuf,
                           uint16_t *hbuf, const warm_kv *meta, size_t n_meta,
                           warm_error *err) {
  long np = sysconf(_SC_NPROCESSORS_ONLN);
  int nthreads = np < 1 ? 1 : np > MK_MAX_THREADS ? MK_MAX_THREADS : (int)np;
  warm_st_writer *w;
  int rc = warm_st_writer_open(path, &w, err);
  if (rc) return rc;
  rc = warm_st_writer_meta(w, "format", "pt", err);
  for (size_t i = 0; !rc && i < n_meta; i++)
    rc = warm_st_writer_meta(w, meta[i].key, meta[i].value, err);
  for (size_t i = from; !rc && i < to; i++)
    rc = warm_st_writer_declare(w, p->t[i].name, c->dtype, p->t[i].ndim,
                                p->t[i].shape, err);
  if (!rc) rc = warm_st_writer_begin(w, err);
  for (size_t i = from; !rc && i < to; i++) {
    rc = write_tensor(c, w, &p->t[i], fbuf, hbuf, nthreads, err);
    if (!rc && !c->quiet && numel(&p->t[i]) > (64u << 20))
      fprintf(stderr, "  %s\n", p->t[i].name);
  }
  if (rc) {
    warm_st_writer_abort(w);
    return rc;
  }
  return warm_st_writer_close(w, err);
}

static int write_file(const mk_ctx *c, const mk_plan *p, size_t from, size_t to,
                      const char *path, float *fbuf, uint16_t *hbuf,
                      warm_error *err) {
  return write_file_meta(c, p, from, to, path, fbuf, hbuf, NULL, 0, err);
}

int mk_write_file(const mk_ctx *c, const mk_plan *p, const char *path,
                  const warm_kv *meta, size_t n_meta, warm_error *err) {
  float *fbuf = malloc(MK_CHUNK * sizeof *fbuf);
  uint16_t *hbuf = malloc(MK_CHUNK * sizeof *hbuf);
  int rc = fbuf && hbuf ? write_file_meta(c, p, 0, p->n, path, fbuf, hbuf,
                                          meta, n_meta, err)
                        : warm_error_set(err, WARM_ENOMEM, "out of memory");
  free(fbuf);
  free(hbuf);
  return rc;
}

int mk_write_tensors(const mk_ctx *c, const mk_plan *p, uint64_t shard_bytes,
                     warm_error *err) {
  size_t es = warm_dtype_size(c->dtype);
  uint64_t total = 0;
  for (size_t i = 0; i < p->n; i++)
    total += numel(&p->t[i]) * es;
  float *fbuf = malloc(MK_CHUNK * sizeof *fbuf);
  uint16_t *hbuf = malloc(MK_CHUNK * sizeof *hbuf);
  size_t *start = calloc(p->n + 2, sizeof *start);
  int rc = 0;
  json_t *map = NULL;
  if (!fbuf || !hbuf || !start) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto out;
  }
  /* Greedy shards of at most shard_bytes (a bigger tensor gets its own). */
  size_t n_shards = 0;
  uint64_t acc = 0;
  for (size_t i = 0; i < p->n; i++) {
    uint64_t b = numel(&p->t[i]) * es;
    if (i == 0 || (acc + b > shard_bytes && acc > 0)) {
      start[n_shards++] = i;
      acc = 0;
    }
    acc += b;
  }
  start[n_shards] = p->n;
  char path[PATH_MAX];
  if (total <= shard_bytes || n_shards <= 1) {
    snprintf(path, sizeof path, "%s/model.safetensors", c->out_dir);
    rc = write_file(c, p, 0, p->n, path, fbuf, hbuf, err);
    goto out;
  }
  map = json_object();
  for (size_t s = 0; !rc && s < n_shards; s++) {
    char file[64];
    snprintf(file, sizeof file, "model-%05zu-of-%05zu.safetensors", s + 1,
             n_shards);
    snprintf(path, sizeof path, "%s/%s", c->out_dir, file);
    if (!c->quiet) fprintf(stderr, "writing %s\n", file);
    rc = write_file(c, p, start[s], start[s + 1], path, fbuf, hbuf, err);
    for (size_t i = start[s]; !rc && i < start[s + 1]; i++)
      json_object_set_new(map, p->t[i].name, json_string(file));
  }
  if (!rc) {
    json_t *idx = json_pack("{s:{s:I}, s:O}", "metadata", "total_size",
                            (json_int_t)total, "weight_map", map);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", c->out_dir);
    if (!idx || json_dump_file(idx, path, JSON_INDENT(2) | JSON_SORT_KEYS))
      rc = warm_error_set(err, WARM_EIO, "%s: cannot write", path);
    json_decref(idx);
  }
out:
  json_decref(map);
  free(fbuf);
  free(hbuf);
  free(start);
  return rc;
}

/* ---- data files ---------------------------------------------------------- */

int mk_find_data(const mk_ctx *c, const char *data_name, char *buf, size_t n,
                 warm_error *err) {
  struct stat sb;
  snprintf(buf, n, "%s/../share/warmd/%s", c->exe_dir, data_name);
  if (stat(buf, &sb) == 0) return 0;
  snprintf(buf, n, "%s/%s", WARM_MKMODEL_DATA_DIR, data_name);
  if (stat(buf, &sb) == 0) return 0;
  return warm_error_set(err, WARM_EIO,
                        "data file %s not found in %s/../share/warmd nor %s",
                        data_name, c->exe_dir, WARM_MKMODEL_DATA_DIR);
}

int mk_copy_data(const mk_ctx *c, const char *data_name, const char *dst_name,
                 warm_error *err) {
  char src[PATH_MAX], dst[PATH_MAX];
  int rc = mk_find_data(c, data_name, src, sizeof src, err);
  if (rc) return rc;
  snprintf(dst, sizeof dst, "%s/%s", c->out_dir, dst_name);
  FILE *in = fopen(src, "rb"), *out = in ? fopen(dst, "wb") : NULL;
  if (!in || !out) {
    rc = warm_error_set(err, WARM_EIO, "%s: %s", in ? dst : src,
                        strerror(errno));
  } else {
    char b[65536];
    size_t r;
    while ((r = fread(b, 1, sizeof b, in)) > 0)
      if (fwrite(b, 1, r, out) != r) {
        rc = warm_error_set(err, WARM_EIO, "%s: write failed", dst);
        break;
      }
    if (!rc && ferror(in))
      rc = warm_error_set(err, WARM_EIO, "%s: read failed", src);
  }
  if (in) fclose(in);
  if (out && fclose(out) != 0 && !rc)
    rc = warm_error_set(err, WARM_EIO, "%s: write failed", dst);
  return rc;
}

int mk_write_diffusers(const mk_ctx *c, json_t *config, const mk_plan *p,
                       uint64_t one_file, const char *arch, warm_error *err) {
  int rc = mk_config_write(c, config, err);
  uint64_t shard = c->max_shard_bytes ? c->max_shard_bytes : one_file;
  if (!rc) rc = mk_write_tensors(c, p, shard, err);
  if (!rc && !c->max_shard_bytes) {
    char from[4096], to[4096];
    snprintf(from, sizeof from, "%s/model.safetensors", c->out_dir);
    snprintf(to, sizeof to, "%s/diffusion_pytorch_model.safetensors",
             c->out_dir);
    if (rename(from, to) != 0)
      rc = warm_error_set(err, WARM_EIO, "%s: cannot rename %s to %s", arch,
                          from, to);
  }
  return rc;
}
