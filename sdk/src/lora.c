/* LoRA files: pairing of lora_A / lora_B tensors under module keys, shape
 * checks against a base checkpoint, and fusion W += s * (B . A). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warm/lora.h"
#include "warm/model.h"
#include "warm/warm.h"
#include "wk.h"

#define LORA_PREFIX "diffusion_model."
#define LORA_A ".lora_A.weight"
#define LORA_B ".lora_B.weight"
#define FUSE_ROWS 64 /* output rows per f32 block of B . A */

struct warm_lora {
  warm_st *st;
  char *path;
  warm_lora_pair *pairs; /* sorted by key */
  char **keys;           /* owned strings behind pairs[i].key */
  size_t n, ignored;
};

void warm_lora_close(warm_lora *l) {
  if (!l) return;
  for (size_t i = 0; i < l->n; i++)
    free(l->keys[i]);
  free(l->keys);
  free(l->pairs);
  warm_st_close(l->st);
  free(l->path);
  free(l);
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n > m && strcmp(s + n - m, suffix) == 0;
}

/* The module key of a tensor name: prefix stripped, suffix removed. */
static char *module_key(const char *name, const char *suffix) {
  const char *s = strncmp(name, LORA_PREFIX, strlen(LORA_PREFIX)) == 0
                      ? name + strlen(LORA_PREFIX)
                      : name;
  size_t n = strlen(s) - strlen(suffix);
  char *k = malloc(n + 1);
  if (k) {
    memcpy(k, s, n);
    k[n] = '\0';
  }
  return k;
}

static int pair_cmp(const void *x, const void *y) {
  return strcmp(((const warm_lora_pair *)x)->key,
                ((const warm_lora_pair *)y)->key);
}

static int dtype_ok(warm_dtype d) {
  return d == WARM_F32 || d == WARM_BF16 || d == WARM_F16;
}

/* Builds the pairs from every lora_A tensor; then every lora_B must have
 * been used. */
static int lora_pair_up(warm_lora *l, warm_error *err) {
  size_t n = warm_st_count(l->st), used_b = 0, n_b = 0;
  l->pairs = calloc(n ? n : 1, sizeof *l->pairs);
  l->keys = calloc(n ? n : 1, sizeof *l->keys);
  if (!l->pairs || !l->keys)
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  for (size_t i = 0; i < n; i++) {
    const warm_st_entry *e = warm_st_at(l->st, i);
    if (ends_with(e->name, LORA_B)) n_b++;
    if (!ends_with(e->name, LORA_A) && !ends_with(e->name, LORA_B))
      l->ignored++;
    if (!ends_with(e->name, LORA_A)) continue;
    char bname[1024];
    size_t stem = strlen(e->name) - strlen(LORA_A);
    snprintf(bname, sizeof bname, "%.*s%s", (int)stem, e->name, LORA_B);
    const warm_st_entry *b = warm_st_find(l->st, bname);
    if (!b)
      return warm_error_set(err, WARM_EFORMAT, "%s: '%s' has no matching '%s'",
                            l->path, e->name, bname);
    used_b++;
    if (!dtype_ok(e->dtype) || !dtype_ok(b->dtype))
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: '%s': dtype %s / %s (f32, bf16 or f16 "
                            "expected)",
                            l->path, e->name, warm_st_dtype_name(e->st_dtype),
                            warm_st_dtype_name(b->st_dtype));
    if (e->ndim != 2 || b->ndim != 2 || e->shape[0] != b->shape[1] ||
        e->shape[0] <= 0 || e->shape[1] <= 0 || b->shape[0] <= 0)
      return warm_error_set(
          err, WARM_EFORMAT,
          "%s: '%s' / lora_B: shapes must be A [r, in] and B [out, r], found "
          "A with %d dims [%lld, %lld] and B with %d dims [%lld, %lld]",
          l->path, e->name, (int)e->ndim, (long long)e->shape[0],
          (long long)(e->ndim > 1 ? e->shape[1] : 0), (int)b->ndim,
          (long long)b->shape[0], (long long)(b->ndim > 1 ? b->shape[1] : 0));
    warm_lora_pair *p = &l->pairs[l->n];
    l->keys[l->n] = module_key(e->name, LORA_A);
    if (!l->keys[l->n])
      return warm_error_set(err, WARM_ENOMEM, "out of memory");
    p->key = l->keys[l->n];
    l->n++;
    int rc = warm_st_get(l->st, e->name, &p->a, err);
    rc = rc ? rc : warm_st_get(l->st, bname, &p->b, err);
    if (rc) return rc;
    p->rank = e->shape[0];
    p->in = e->shape[1];
    p->out = b->shape[0];
  }
  if (used_b != n_b) {
    for (size_t i = 0; i < n; i++) {
      const warm_st_entry *e = warm_st_at(l->st, i);
      if (!ends_with(e->name, LORA_B)) continue;
      char aname[1024];
      size_t stem = strlen(e->name) - strlen(LORA_B);
      snprintf(aname, sizeof aname, "%.*s%s", (int)stem, e->name, LORA_A);
      if (!warm_st_find(l->st, aname))
        return warm_error_set(err, WARM_EFORMAT,
                              "%s: '%s' has no matching '%s'", l->path, e->name,
                              aname);
    }
  }
  /* Sort keys and pairs together: pairs point at keys[], so sorting the
   * pairs alone keeps every key pointer valid. */
  qsort(l->pairs, l->n, sizeof *l->pairs, pair_cmp);
  for (size_t i = 1; i < l->n; i++)
    if (strcmp(l->pairs[i - 1].key, l->pairs[i].key) == 0)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: module '%s' is adapted twice (with and "
                            "without the %s prefix)",
                            l->path, l->pairs[i].key, LORA_PREFIX);
  if (l->n == 0)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: no lora_A / lora_B pairs (not a LoRA file?)",
                          l->path);
  return 0;
}

int warm_lora_from_st(warm_st *st, warm_lora **out, warm_error *err) {
  *out = NULL;
  warm_lora *l = calloc(1, sizeof *l);
  if (!l || !(l->path = strdup(warm_st_path(st)))) {
    free(l);
    warm_st_close(st);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  l->st = st;
  int rc = lora_pair_up(l, err);
  if (rc) {
    warm_lora_close(l);
    return rc;
  }
  *out = l;
  return 0;
}

int warm_lora_open(const char *path, warm_lora **out, warm_error *err) {
  *out = NULL;
  warm_st *st;
  int rc = warm_st_open(path, &st, err);
  return rc ? rc : warm_lora_from_st(st, out, err);
}

const char *warm_lora_path(const warm_lora *l) {
  return l->path;
}

const warm_st *warm_lora_st(const warm_lora *l) {
  return l->st;
}

size_t warm_lora_ignored(const warm_lora *l) {
  return l->ignored;
}

size_t warm_lora_count(const warm_lora *l) {
  return l->n;
}

const warm_lora_pair *warm_lora_at(const warm_lora *l, size_t i) {
  return i < l->n ? &l->pairs[i] : NULL;
}

const warm_lora_pair *warm_lora_find(const warm_lora *l, const char *key) {
  warm_lora_pair probe = {.key = key};
  return bsearch(&probe, l->pairs, l->n, sizeof *l->pairs, pair_cmp);
}

int warm_lora_check(const warm_lora *l, const char *key, const char *base_path,
                    int64_t out, int64_t in, warm_error *err) {
  const warm_lora_pair *p = warm_lora_find(l, key);
  if (!p)
    return warm_error_set(err, WARM_EINVAL, "%s: does not adapt '%s'", l->path,
                          key);
  if (p->out != out || p->in != in)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: '%s': the LoRA gives a [%lld, %lld] update "
                          "(B [%lld, %lld] . A [%lld, %lld]) but the base "
                          "weight in %s is [%lld, %lld]",
                          l->path, key, (long long)p->out, (long long)p->in,
                          (long long)p->out, (long long)p->rank,
                          (long long)p->rank, (long long)p->in, base_path,
                          (long long)out, (long long)in);
  return 0;
}

int warm_lora_check_base(const warm_lora *l, const warm_st *base,
                         const char *prefix, warm_error *err) {
  for (size_t i = 0; i < l->n; i++) {
    char name[1024];
    snprintf(name, sizeof name, "%s%s.weight", prefix ? prefix : "",
             l->pairs[i].key);
    const warm_st_entry *e = warm_st_find(base, name);
    if (!e)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: adapts '%s', but %s has no tensor '%s'",
                            l->path, l->pairs[i].key, warm_st_path(base), name);
    if (e->ndim != 2)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: adapts '%s', but '%s' in %s is %d-D, not a "
                            "linear weight",
                            l->path, l->pairs[i].key, name, warm_st_path(base),
                            (int)e->ndim);
    int rc = warm_lora_check(l, l->pairs[i].key, warm_st_path(base),
                             e->shape[0], e->shape[1], err);
    if (rc) return rc;
  }
  return 0;
}

/* rows x cols of t starting at row r0, as f32. */
static int to_f32(const warm_tensor *t, int64_t r0, int64_t rows, float *dst,
                  warm_error *err) {
  int64_t cols = t->shape[1];
  warm_tensor part = *t;
  part.shape[0] = rows;
  part.data = (char *)t->data + (size_t)(r0 * cols) * warm_dtype_size(t->dtype);
  return warm_weight_convert(&part, WARM_F32, dst, NULL, err);
}

size_t warm_lora_fuse_scratch(const warm_lora_pair *p) {
  return (size_t)(p->rank * p->in + FUSE_ROWS * p->rank + FUSE_ROWS * p->in) *
         sizeof(float);
}

int warm_lora_fuse(const warm_lora *l, const warm_lora_pair *p, float strength,
                   void *w, warm_dtype dt, int64_t out, int64_t in,
                   warm_error *err) {
  if (dt != WARM_F32 && dt != WARM_BF16)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: '%s': fusing into %s weights is not supported "
                          "(f32 or bf16)",
                          l->path, p->key,
                          warm_dtype_name(dt) ? warm_dtype_name(dt) : "?");
  int rc = warm_lora_check(l, p->key, "the weight buffer", out, in, err);
  if (rc) return rc;
  int64_t r = p->rank;
  float *a = malloc((size_t)(r * in) * sizeof *a);
  float *b = malloc((size_t)(FUSE_ROWS * r) * sizeof *b);
  float *d = malloc((size_t)(FUSE_ROWS * in) * sizeof *d);
  if (!a || !b || !d) rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
  if (!rc) rc = to_f32(&p->a, 0, r, a, err);
  for (int64_t o0 = 0; !rc && o0 < out; o0 += FUSE_ROWS) {
    int64_t rows = out - o0 < FUSE_ROWS ? out - o0 : FUSE_ROWS;
    if ((rc = to_f32(&p->b, o0, rows, b, err))) break;
    /* d[rows, in] = strength * B[o0.., :] . A */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, (int)in,
                (int)r, strength, b, (int)r, a, (int)in, 0.0f, d, (int)in);
    size_t n = (size_t)(rows * in), off = (size_t)(o0 * in);
    if (dt == WARM_F32) {
      float *wf = (float *)w + off;
      for (size_t i = 0; i < n; i++)
        wf[i] += d[i];
    } else {
      uint16_t *wh = (uint16_t *)w + off;
      for (size_t i = 0; i < n; i++)
        wh[i] = wk_f32_to_bf16(wk_bf16_to_f32(wh[i]) + d[i]);
    }
  }
  free(a);
  free(b);
  free(d);
  return rc;
}
