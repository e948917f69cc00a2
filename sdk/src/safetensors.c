/* safetensors reading: mmap, header validation, sharded folders, lookup. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "warm/safetensors.h"
#include "warm/warm.h"

#define ST_MAX_HEADER (100u << 20)
#define ST_INDEX_NAME "model.safetensors.index.json"

typedef struct st_file {
  char *path;
  const uint8_t *base; /* whole file image */
  uint64_t size;
  int mapped; /* 1: munmap at close; 0: caller's buffer */
} st_file;

struct warm_st {
  char *path;
  st_file *files;
  uint32_t n_files;
  warm_st_entry *entries;
  size_t n, cap;
  uint32_t *hash; /* open addressing: entry index + 1, 0 = empty */
  size_t hcap;
  char **mkeys, **mvals;
  size_t n_meta;
  uint64_t total;
};

static const struct {
  const char *name;
  size_t size;
  warm_dtype warm;
} st_dtypes[WARM_ST_DTYPE_COUNT] = {
    [WARM_ST_BOOL] = {"BOOL", 1, WARM_DTYPE_NONE},
    [WARM_ST_U8] = {"U8", 1, WARM_U8},
    [WARM_ST_I8] = {"I8", 1, WARM_DTYPE_NONE},
    [WARM_ST_I16] = {"I16", 2, WARM_DTYPE_NONE},
    [WARM_ST_U16] = {"U16", 2, WARM_DTYPE_NONE},
    [WARM_ST_F16] = {"F16", 2, WARM_F16},
    [WARM_ST_BF16] = {"BF16", 2, WARM_BF16},
    [WARM_ST_I32] = {"I32", 4, WARM_I32},
    [WARM_ST_U32] = {"U32", 4, WARM_DTYPE_NONE},
    [WARM_ST_F32] = {"F32", 4, WARM_F32},
    [WARM_ST_F64] = {"F64", 8, WARM_DTYPE_NONE},
    [WARM_ST_I64] = {"I64", 8, WARM_I64},
    [WARM_ST_U64] = {"U64", 8, WARM_DTYPE_NONE},
    [WARM_ST_F8_E4M3] = {"F8_E4M3", 1, WARM_FP8_E4M3},
    [WARM_ST_F8_E5M2] = {"F8_E5M2", 1, WARM_DTYPE_NONE},
};

const char *warm_st_dtype_name(warm_st_dtype d) {
  return (unsigned)d < WARM_ST_DTYPE_COUNT ? st_dtypes[d].name : NULL;
}

size_t warm_st_dtype_size(warm_st_dtype d) {
  return (unsigned)d < WARM_ST_DTYPE_COUNT ? st_dtypes[d].size : 0;
}

warm_dtype warm_st_dtype_to_warm(warm_st_dtype d) {
  return (unsigned)d < WARM_ST_DTYPE_COUNT ? st_dtypes[d].warm
                                           : WARM_DTYPE_NONE;
}

int warm_st_dtype_from_warm(warm_dtype d) {
  if (d == WARM_DTYPE_NONE) return -1;
  for (int i = 0; i < WARM_ST_DTYPE_COUNT; i++)
    if (st_dtypes[i].warm == d) return i;
  return -1;
}

static int st_dtype_parse(const char *s) {
  for (int i = 0; i < WARM_ST_DTYPE_COUNT; i++)
    if (strcmp(s, st_dtypes[i].name) == 0) return i;
  return -1;
}

static uint64_t st_hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++)
    h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

/* ---- parsing one file image --------------------------------------------- */

static int st_push(warm_st *st, warm_error *err) {
  if (st->n < st->cap) return 0;
  size_t cap = st->cap ? st->cap * 2 : 64;
  warm_st_entry *e = realloc(st->entries, cap * sizeof *e);
  if (!e) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  st->entries = e;
  st->cap = cap;
  return 0;
}

static int st_add_meta(warm_st *st, const char *k, const char *v,
                       warm_error *err) {
  for (size_t i = 0; i < st->n_meta; i++)
    if (strcmp(st->mkeys[i], k) == 0) return 0; /* first file wins */
  char **mk = realloc(st->mkeys, (st->n_meta + 1) * sizeof *mk);
  if (mk) st->mkeys = mk;
  char **mv = realloc(st->mvals, (st->n_meta + 1) * sizeof *mv);
  if (mv) st->mvals = mv;
  if (!mk || !mv) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  st->mkeys[st->n_meta] = strdup(k);
  st->mvals[st->n_meta] = strdup(v);
  if (!st->mkeys[st->n_meta] || !st->mvals[st->n_meta]) {
    free(st->mkeys[st->n_meta]);
    free(st->mvals[st->n_meta]);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  st->n_meta++;
  return 0;
}

/* Reads a non-negative JSON integer. */
static int st_uint(json_t *j, uint64_t *out) {
  if (!json_is_integer(j)) return -1;
  json_int_t v = json_integer_value(j);
  if (v < 0) return -1;
  *out = (uint64_t)v;
  return 0;
}

/* Validates one tensor description and appends it. */
static int st_parse_tensor(warm_st *st, uint32_t fi, const char *fname,
                           const char *name, json_t *desc, const uint8_t *data,
                           uint64_t data_len, warm_error *err) {
  if (!name[0])
    return warm_error_set(err, WARM_EFORMAT, "%s: a tensor has an empty name",
                          fname);
  if (!json_is_object(desc))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s': description is not an object",
                          fname, name);
  const char *k;
  json_t *v;
  json_object_foreach(desc, k, v) {
    if (strcmp(k, "dtype") && strcmp(k, "shape") && strcmp(k, "data_offsets"))
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: tensor '%s': unknown field '%s'", fname, name,
                            k);
  }
  json_t *jd = json_object_get(desc, "dtype");
  json_t *js = json_object_get(desc, "shape");
  json_t *jo = json_object_get(desc, "data_offsets");
  if (!json_is_string(jd))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s': dtype missing or not a string",
                          fname, name);
  int dt = st_dtype_parse(json_string_value(jd));
  if (dt < 0)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s': unknown dtype '%.32s'", fname, name,
                          json_string_value(jd));
  if (!json_is_array(js))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s': shape missing or not an array",
                          fname, name);
  size_t ndim = json_array_size(js);
  if (ndim > WARM_MAX_DIMS)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s': %zu dims (at most %d supported)",
                          fname, name, ndim, WARM_MAX_DIMS);
  if (!json_is_array(jo) || json_array_size(jo) != 2)
    return warm_error_set(
        err, WARM_EFORMAT,
        "%s: tensor '%s': data_offsets missing or not [begin, end]", fname,
        name);
  uint64_t begin, end;
  if (st_uint(json_array_get(jo, 0), &begin) ||
      st_uint(json_array_get(jo, 1), &end))
    return warm_error_set(
        err, WARM_EFORMAT,
        "%s: tensor '%s': data_offsets are not non-negative integers", fname,
        name);
  if (begin > end || end > data_len)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s': data_offsets [%llu, %llu] outside "
                          "the data section of %llu bytes (file truncated?)",
                          fname, name, (unsigned long long)begin,
                          (unsigned long long)end,
                          (unsigned long long)data_len);
  int rc = st_push(st, err);
  if (rc) return rc;
  warm_st_entry *e = &st->entries[st->n];
  memset(e, 0, sizeof *e);
  uint64_t numel = 1;
  int overflow = 0;
  for (size_t i = 0; i < ndim; i++) {
    uint64_t d;
    if (st_uint(json_array_get(js, i), &d) || d > INT64_MAX)
      return warm_error_set(
          err, WARM_EFORMAT,
          "%s: tensor '%s': shape[%zu] is not a non-negative integer", fname,
          name, i);
    e->shape[i] = (int64_t)d;
    if (__builtin_mul_overflow(numel, d, &numel)) overflow = 1;
  }
  uint64_t nbytes = 0;
  if (overflow ||
      __builtin_mul_overflow(numel, (uint64_t)st_dtypes[dt].size, &nbytes))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s': shape overflows 64 bits", fname,
                          name);
  if (nbytes != end - begin)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s': shape x %s = %llu bytes but "
                          "data_offsets span %llu",
                          fname, name, st_dtypes[dt].name,
                          (unsigned long long)nbytes,
                          (unsigned long long)(end - begin));
  e->name = strdup(name);
  if (!e->name) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  e->st_dtype = (warm_st_dtype)dt;
  e->dtype = st_dtypes[dt].warm;
  e->ndim = (int32_t)ndim;
  e->nbytes = nbytes;
  e->data = nbytes ? data + begin : NULL;
  e->file = fi;
  e->file_offset = (uint64_t)(data - st->files[fi].base) + begin;
  st->n++;
  st->total += nbytes;
  return 0;
}

static int st_cmp_offset(const void *a, const void *b) {
  const warm_st_entry *x = a, *y = b;
  if (x->file != y->file) return x->file < y->file ? -1 : 1;
  if (x->file_offset != y->file_offset)
    return x->file_offset < y->file_offset ? -1 : 1;
  return (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

/* Parses and validates file fi's header; appends its tensors. */
static int st_parse_file(warm_st *st, uint32_t fi, warm_error *err) {
  const st_file *f = &st->files[fi];
  const char *fname = f->path;
  if (f->size < 8)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: %llu bytes is too short for a safetensors file",
                          fname, (unsigned long long)f->size);
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--)
    hlen = (hlen << 8) | f->base[i];
  if (hlen < 2 || hlen > ST_MAX_HEADER || hlen > f->size - 8)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: header length %llu is not within the file "
                          "(%llu bytes, header at most %u)",
                          fname, (unsigned long long)hlen,
                          (unsigned long long)f->size, ST_MAX_HEADER);
  json_error_t jerr;
  json_t *root = json_loadb((const char *)f->base + 8, (size_t)hlen,
                            JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: header is not valid JSON: %s (at byte %d)",
                          fname, jerr.text, jerr.position);
  int rc = 0;
  if (!json_is_object(root)) {
    rc = warm_error_set(err, WARM_EFORMAT, "%s: header is not a JSON object",
                        fname);
    goto out;
  }
  const uint8_t *data = f->base + 8 + hlen;
  uint64_t data_len = f->size - 8 - hlen;
  size_t first = st->n;
  const char *key;
  json_t *val;
  json_object_foreach(root, key, val) {
    if (strcmp(key, "__metadata__") == 0) {
      if (!json_is_object(val)) {
        rc = warm_error_set(err, WARM_EFORMAT,
                            "%s: __metadata__ is not an object", fname);
        goto out;
      }
      const char *mk;
      json_t *mv;
      json_object_foreach(val, mk, mv) {
        if (!json_is_string(mv)) {
          rc = warm_error_set(err, WARM_EFORMAT,
                              "%s: __metadata__ '%s' is not a string", fname,
                              mk);
          goto out;
        }
        if ((rc = st_add_meta(st, mk, json_string_value(mv), err))) goto out;
      }
      continue;
    }
    rc = st_parse_tensor(st, fi, fname, key, val, data, data_len, err);
    if (rc) goto out;
  }
  /* Non-overlap: sort this file's spans by offset, compare neighbours. */
  if (st->n > first)
    qsort(st->entries + first, st->n - first, sizeof *st->entries,
          st_cmp_offset);
  for (size_t i = first + 1; i < st->n; i++) {
    const warm_st_entry *a = &st->entries[i - 1], *b = &st->entries[i];
    if (a->nbytes && b->nbytes && a->file_offset + a->nbytes > b->file_offset) {
      rc = warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s' overlaps tensor '%s'", fname,
                          b->name, a->name);
      goto out;
    }
  }
out:
  json_decref(root);
  return rc;
}

/* Builds the name hash; refuses duplicates (possible across shards). */
static int st_build_hash(warm_st *st, warm_error *err) {
  size_t cap = 16;
  while (cap < st->n * 2 + 1)
    cap *= 2;
  st->hash = calloc(cap, sizeof *st->hash);
  if (!st->hash) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  st->hcap = cap;
  for (size_t i = 0; i < st->n; i++) {
    size_t h = st_hash(st->entries[i].name) & (cap - 1);
    while (st->hash[h]) {
      const warm_st_entry *o = &st->entries[st->hash[h] - 1];
      if (strcmp(o->name, st->entries[i].name) == 0)
        return warm_error_set(err, WARM_EFORMAT,
                              "%s: tensor '%s' appears twice (in %s and %s)",
                              st->path, o->name, st->files[o->file].path,
                              st->files[st->entries[i].file].path);
      h = (h + 1) & (cap - 1);
    }
    st->hash[h] = (uint32_t)(i + 1);
  }
  return 0;
}

/* ---- opening ------------------------------------------------------------- */

static warm_st *st_new(const char *path) {
  warm_st *st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->path = strdup(path);
  if (!st->path) {
    free(st);
    return NULL;
  }
  return st;
}

static int st_add_file(warm_st *st, const char *path, warm_error *err) {
  st_file *f = realloc(st->files, (st->n_files + 1) * sizeof *f);
  if (!f) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  st->files = f;
  f = &st->files[st->n_files];
  memset(f, 0, sizeof *f);
  f->path = strdup(path);
  if (!f->path) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  st->n_files++;
  /* O_NONBLOCK: a FIFO given as a checkpoint must not hang the open. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0)
    return warm_error_set(err, WARM_EIO, "%s: cannot open: %s", path,
                          strerror(errno));
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    return warm_error_set(err, WARM_EIO, "%s: not a regular file", path);
  }
  f->size = (uint64_t)sb.st_size;
  if (f->size > 0) {
    void *m = mmap(NULL, f->size, PROT_READ, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED) {
      int e = errno;
      close(fd);
      return warm_error_set(err, WARM_EIO, "%s: mmap failed: %s", path,
                            strerror(e));
    }
    f->base = m;
    f->mapped = 1;
  }
  close(fd);
  return st_parse_file(st, st->n_files - 1, err);
}

static int st_has_suffix(const char *s, const char *suf) {
  size_t a = strlen(s), b = strlen(suf);
  return a >= b && strcmp(s + a - b, suf) == 0;
}

static int st_strcmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Opens the shards listed by model.safetensors.index.json in dir and checks
 * that each mapped tensor is in its shard, and only there. */
static int st_open_index(warm_st *st, const char *dir, const char *idx,
                         warm_error *err) {
  json_error_t jerr;
  json_t *root = json_load_file(idx, JSON_REJECT_DUPLICATES, &jerr);
  if (!root)
    return warm_error_set(err, WARM_EFORMAT, "%s: %s (line %d)", idx, jerr.text,
                          jerr.line);
  int rc = 0;
  json_t *map = json_object_get(root, "weight_map");
  char **shards = NULL;
  size_t n_shards = 0;
  if (!json_is_object(map)) {
    rc = warm_error_set(err, WARM_EFORMAT,
                        "%s: weight_map missing or not an object", idx);
    goto out;
  }
  shards = calloc(json_object_size(map) + 1, sizeof *shards);
  if (!shards) {
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
    goto out;
  }
  const char *name;
  json_t *v;
  json_object_foreach(map, name, v) {
    const char *file = json_string_value(v);
    if (!file || !file[0] || strchr(file, '/') || strcmp(file, "..") == 0 ||
        strcmp(file, ".") == 0) {
      rc = warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s': shard is not a plain file name",
                          idx, name);
      goto out;
    }
    size_t i = 0;
    while (i < n_shards && strcmp(shards[i], file))
      i++;
    if (i == n_shards) shards[n_shards++] = (char *)file;
  }
  qsort(shards, n_shards, sizeof *shards, st_strcmp);
  for (size_t i = 0; i < n_shards; i++) {
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, shards[i]);
    if ((rc = st_add_file(st, p, err))) goto out;
  }
  if ((rc = st_build_hash(st, err))) goto out;
  json_object_foreach(map, name, v) {
    const warm_st_entry *e = warm_st_find(st, name);
    const char *want = json_string_value(v);
    const char *base = NULL;
    if (e) {
      base = strrchr(st->files[e->file].path, '/');
      base = base ? base + 1 : st->files[e->file].path;
    }
    if (!e || strcmp(base, want)) {
      rc = warm_error_set(err, WARM_EFORMAT,
                          "%s: tensor '%s' is mapped to %s but %s", idx, name,
                          want, e ? "found in another shard" : "not found");
      goto out;
    }
  }
  if (json_object_size(map) != st->n) {
    for (size_t i = 0; i < st->n; i++)
      if (!json_object_get(map, st->entries[i].name)) {
        rc = warm_error_set(
            err, WARM_EFORMAT, "%s: tensor '%s' in %s is not in the index", idx,
            st->entries[i].name, st->files[st->entries[i].file].path);
        goto out;
      }
  }
out:
  free(shards);
  json_decref(root);
  return rc;
}

/* Opens every *.safetensors file of a folder without an index. */
static int st_open_dir(warm_st *st, const char *dir, warm_error *err) {
  struct dirent **list = NULL;
  int n = scandir(dir, &list, NULL, alphasort);
  if (n < 0)
    return warm_error_set(err, WARM_EIO, "%s: cannot list: %s", dir,
                          strerror(errno));
  int rc = 0, found = 0;
  for (int i = 0; i < n; i++) {
    if (!rc && list[i]->d_name[0] != '.' &&
        st_has_suffix(list[i]->d_name, ".safetensors")) {
      char p[4096];
      snprintf(p, sizeof p, "%s/%s", dir, list[i]->d_name);
      rc = st_add_file(st, p, err);
      found++;
    }
    free(list[i]);
  }
  free(list);
  if (!rc && !found)
    rc = warm_error_set(err, WARM_EIO, "%s: no *.safetensors file in folder",
                        dir);
  if (!rc) rc = st_build_hash(st, err);
  return rc;
}

int warm_st_open(const char *path, warm_st **out, warm_error *err) {
  *out = NULL;
  if (!path || !path[0])
    return warm_error_set(err, WARM_EINVAL, "safetensors: empty path");
  struct stat sb;
  if (stat(path, &sb) != 0)
    return warm_error_set(err, WARM_EIO, "%s: %s", path, strerror(errno));
  warm_st *st = st_new(path);
  if (!st) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  int rc;
  if (S_ISDIR(sb.st_mode)) {
    char idx[4096];
    snprintf(idx, sizeof idx, "%s/%s", path, ST_INDEX_NAME);
    if (access(idx, F_OK) == 0)
      rc = st_open_index(st, path, idx, err);
    else
      rc = st_open_dir(st, path, err);
  } else {
    rc = st_add_file(st, path, err);
    if (!rc) rc = st_build_hash(st, err);
  }
  if (rc) {
    warm_st_close(st);
    return rc;
  }
  if (st->n) qsort(st->entries, st->n, sizeof *st->entries, st_cmp_offset);
  free(st->hash);
  st->hash = NULL;
  if ((rc = st_build_hash(st, err))) { /* indices moved with the sort */
    warm_st_close(st);
    return rc;
  }
  *out = st;
  return 0;
}

int warm_st_open_buffer(const void *buf, size_t len, const char *name,
                        warm_st **out, warm_error *err) {
  *out = NULL;
  warm_st *st = st_new(name ? name : "<buffer>");
  if (!st) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  st->files = calloc(1, sizeof *st->files);
  int rc = WARM_ENOMEM;
  if (!st->files || !(st->files[0].path = strdup(st->path))) {
    warm_error_set(err, rc, "out of memory");
    goto fail;
  }
  st->n_files = 1;
  st->files[0].base = buf;
  st->files[0].size = len;
  if ((rc = st_parse_file(st, 0, err)) || (rc = st_build_hash(st, err)))
    goto fail;
  *out = st;
  return 0;
fail:
  warm_st_close(st);
  return rc;
}

void warm_st_close(warm_st *st) {
  if (!st) return;
  for (uint32_t i = 0; i < st->n_files; i++) {
    if (st->files[i].mapped)
      munmap((void *)st->files[i].base, st->files[i].size);
    free(st->files[i].path);
  }
  for (size_t i = 0; i < st->n; i++)
    free((char *)st->entries[i].name);
  for (size_t i = 0; i < st->n_meta; i++) {
    free(st->mkeys[i]);
    free(st->mvals[i]);
  }
  free(st->mkeys);
  free(st->mvals);
  free(st->files);
  free(st->entries);
  free(st->hash);
  free(st->path);
  free(st);
}

/* ---- queries ------------------------------------------------------------- */

size_t warm_st_count(const warm_st *st) {
  return st->n;
}

const warm_st_entry *warm_st_at(const warm_st *st, size_t i) {
  return i < st->n ? &st->entries[i] : NULL;
}

const warm_st_entry *warm_st_find(const warm_st *st, const char *name) {
  if (!st->hcap || !name) return NULL;
  size_t h = st_hash(name) & (st->hcap - 1);
  while (st->hash[h]) {
    const warm_st_entry *e = &st->entries[st->hash[h] - 1];
    if (strcmp(e->name, name) == 0) return e;
    h = (h + 1) & (st->hcap - 1);
  }
  return NULL;
}

int warm_st_get(const warm_st *st, const char *name, warm_tensor *out,
                warm_error *err) {
  const warm_st_entry *e = warm_st_find(st, name);
  if (!e)
    return warm_error_set(err, WARM_EFORMAT, "%s: tensor '%s' not found",
                          st->path, name);
  if (e->dtype == WARM_DTYPE_NONE)
    return warm_error_set(
        err, WARM_EFORMAT, "%s: tensor '%s': dtype %s is not supported here",
        st->files[e->file].path, name, st_dtypes[e->st_dtype].name);
  memset(out, 0, sizeof *out);
  out->name = e->name;
  out->dtype = e->dtype;
  out->ndim = e->ndim;
  memcpy(out->shape, e->shape, sizeof out->shape);
  out->device.type = WARM_DEVICE_CPU;
  out->data = (void *)e->data;
  out->scale = 1.0f;
  return 0;
}

static void st_shape_str(char *buf, size_t n, int32_t ndim,
                         const int64_t *shape) {
  size_t o = (size_t)snprintf(buf, n, "[");
  for (int32_t i = 0; i < ndim && o < n; i++)
    o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "",
                          (long long)shape[i]);
  if (o < n) snprintf(buf + o, n - o, "]");
}

int warm_st_expect(const warm_st *st, const char *name, int32_t ndim,
                   const int64_t *shape, warm_tensor *out, warm_error *err) {
  warm_tensor t;
  int rc = warm_st_get(st, name, &t, err);
  if (rc) return rc;
  int ok = t.ndim == ndim;
  for (int32_t i = 0; ok && i < ndim; i++)
    if (shape[i] >= 0 && shape[i] != t.shape[i]) ok = 0;
  if (!ok) {
    char want[160], got[160];
    st_shape_str(want, sizeof want, ndim, shape);
    st_shape_str(got, sizeof got, t.ndim, t.shape);
    return warm_error_set(
        err, WARM_EFORMAT, "%s: tensor '%s': expected shape %s, found %s",
        st->files[warm_st_find(st, name)->file].path, name, want, got);
  }
  if (out) *out = t;
  return 0;
}

const char *warm_st_metadata(const warm_st *st, const char *key) {
  for (size_t i = 0; i < st->n_meta; i++)
    if (strcmp(st->mkeys[i], key) == 0) return st->mvals[i];
  return NULL;
}

size_t warm_st_metadata_count(const warm_st *st) {
  return st->n_meta;
}

int warm_st_metadata_at(const warm_st *st, size_t i, const char **key,
                        const char **value) {
  if (i >= st->n_meta) return WARM_EINVAL;
  *key = st->mkeys[i];
  *value = st->mvals[i];
  return 0;
}

uint32_t warm_st_file_count(const warm_st *st) {
  return st->n_files;
}

const char *warm_st_file_path(const warm_st *st, uint32_t i) {
  return i < st->n_files ? st->files[i].path : NULL;
}

const void *warm_st_file_base(const warm_st *st, uint32_t i) {
  return i < st->n_files ? st->files[i].base : NULL;
}

uint64_t warm_st_file_size(const warm_st *st, uint32_t i) {
  return i < st->n_files ? st->files[i].size : 0;
}

const char *warm_st_path(const warm_st *st) {
  return st->path;
}

uint64_t warm_st_total_bytes(const warm_st *st) {
  return st->total;
}
