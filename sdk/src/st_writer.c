/* safetensors writing: declare every tensor, write the header, then stream
 * the data in declaration order. Spans are contiguous (as the reference
 * safetensors library requires), the header padded to 8 bytes. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "warm/safetensors.h"
#include "warm/warm.h"

typedef struct stw_tensor {
  char *name;
  int st_dtype;
  int32_t ndim;
  int64_t shape[WARM_MAX_DIMS];
  uint64_t nbytes;
} stw_tensor;

struct warm_st_writer {
  char *path, *tmp;
  FILE *f;
  json_t *meta;
  stw_tensor *t;
  size_t n, cap;
  int begun, failed;
  uint64_t total, written;
  uint64_t data_start; /* file offset of the first data byte */
};

int warm_st_writer_open(const char *path, warm_st_writer **out,
                        warm_error *err) {
  *out = NULL;
  warm_st_writer *w = calloc(1, sizeof *w);
  if (!w) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  size_t n = strlen(path);
  w->path = strdup(path);
  w->tmp = malloc(n + 5);
  w->meta = json_object();
  if (!w->path || !w->tmp || !w->meta) {
    warm_st_writer_abort(w);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  memcpy(w->tmp, path, n);
  memcpy(w->tmp + n, ".tmp", 5);
  w->f = fopen(w->tmp, "wb");
  if (!w->f) {
    int e = errno;
    warm_st_writer_abort(w);
    return warm_error_set(err, WARM_EIO, "%s: cannot create: %s", path,
                          strerror(e));
  }
  setvbuf(w->f, NULL, _IOFBF, 1 << 20);
  *out = w;
  return 0;
}

static int stw_fail(warm_st_writer *w, warm_error *err, int code,
                    const char *what) {
  w->failed = 1;
  return warm_error_set(err, code, "%s: %s", w->path, what);
}

int warm_st_writer_meta(warm_st_writer *w, const char *key, const char *value,
                        warm_error *err) {
  if (w->failed || w->begun)
    return stw_fail(w, err, WARM_EINVAL, "metadata after begin or failure");
  if (json_object_set_new(w->meta, key, json_string(value)))
    return stw_fail(w, err, WARM_EINVAL, "metadata key/value not UTF-8");
  return 0;
}

int warm_st_writer_declare(warm_st_writer *w, const char *name,
                           warm_dtype dtype, int32_t ndim, const int64_t *shape,
                           warm_error *err) {
  if (w->failed || w->begun)
    return stw_fail(w, err, WARM_EINVAL, "declare after begin or failure");
  int sd = warm_st_dtype_from_warm(dtype);
  if (!name || !name[0] || strcmp(name, "__metadata__") == 0 || sd < 0 ||
      ndim < 0 || ndim > WARM_MAX_DIMS) {
    w->failed = 1;
    return warm_error_set(err, WARM_EINVAL,
                          "%s: tensor '%s': bad name, dtype or rank", w->path,
                          name ? name : "(null)");
  }
  for (size_t i = 0; i < w->n; i++)
    if (strcmp(w->t[i].name, name) == 0) {
      w->failed = 1;
      return warm_error_set(err, WARM_EINVAL, "%s: tensor '%s' declared twice",
                            w->path, name);
    }
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 64;
    stw_tensor *t = realloc(w->t, cap * sizeof *t);
    if (!t) return stw_fail(w, err, WARM_ENOMEM, "out of memory");
    w->t = t;
    w->cap = cap;
  }
  stw_tensor *t = &w->t[w->n];
  memset(t, 0, sizeof *t);
  uint64_t bytes = warm_st_dtype_size((warm_st_dtype)sd);
  for (int32_t i = 0; i < ndim; i++) {
    if (shape[i] < 0 ||
        __builtin_mul_overflow(bytes, (uint64_t)shape[i], &bytes)) {
      w->failed = 1;
      return warm_error_set(err, WARM_EINVAL,
                            "%s: tensor '%s': bad or overflowing shape",
                            w->path, name);
    }
    t->shape[i] = shape[i];
  }
  t->name = strdup(name);
  if (!t->name) return stw_fail(w, err, WARM_ENOMEM, "out of memory");
  t->st_dtype = sd;
  t->ndim = ndim;
  t->nbytes = bytes;
  w->n++;
  return 0;
}

int warm_st_writer_begin(warm_st_writer *w, warm_error *err) {
  if (w->failed || w->begun)
    return stw_fail(w, err, WARM_EINVAL, "begin twice or after failure");
  json_t *root = json_object();
  if (!root) return stw_fail(w, err, WARM_ENOMEM, "out of memory");
  if (json_object_size(w->meta)) json_object_set(root, "__metadata__", w->meta);
  uint64_t off = 0;
  for (size_t i = 0; i < w->n; i++) {
    const stw_tensor *t = &w->t[i];
    json_t *shape = json_array();
    for (int32_t d = 0; d < t->ndim; d++)
      json_array_append_new(shape, json_integer(t->shape[d]));
    json_t *desc = json_pack("{s:s, s:o, s:[I, I]}", "dtype",
                             warm_st_dtype_name((warm_st_dtype)t->st_dtype),
                             "shape", shape, "data_offsets", (json_int_t)off,
                             (json_int_t)(off + t->nbytes));
    if (!desc || json_object_set_new(root, t->name, desc)) {
      json_decref(root);
      return stw_fail(w, err, WARM_ENOMEM, "cannot build header");
    }
    off += t->nbytes;
  }
  char *js = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
  json_decref(root);
  if (!js) return stw_fail(w, err, WARM_ENOMEM, "cannot build header");
  size_t len = strlen(js);
  size_t padded = (len + 7) & ~(size_t)7;
  uint8_t hdr[8];
  for (int i = 0; i < 8; i++)
    hdr[i] = (uint8_t)((uint64_t)padded >> (8 * i));
  int ok = fwrite(hdr, 1, 8, w->f) == 8 && fwrite(js, 1, len, w->f) == len;
  for (size_t i = len; ok && i < padded; i++)
    ok = fputc(' ', w->f) != EOF;
  free(js);
  if (!ok) return stw_fail(w, err, WARM_EIO, "write failed");
  w->begun = 1;
  w->total = off;
  w->data_start = 8 + padded;
  return 0;
}

int warm_st_writer_write(warm_st_writer *w, const void *data, size_t n,
                         warm_error *err) {
  if (w->failed || !w->begun)
    return stw_fail(w, err, WARM_EINVAL, "write before begin or after failure");
  if (n > w->total - w->written)
    return stw_fail(w, err, WARM_EINVAL, "more data than declared");
  if (n && fwrite(data, 1, n, w->f) != n)
    return stw_fail(w, err, WARM_EIO, "write failed (disk full?)");
  w->written += n;
  return 0;
}

int warm_st_writer_skip(warm_st_writer *w, uint64_t n, warm_error *err) {
  if (w->failed || !w->begun)
    return stw_fail(w, err, WARM_EINVAL, "skip before begin or after failure");
  if (n > w->total - w->written)
    return stw_fail(w, err, WARM_EINVAL, "more data than declared");
  if (fflush(w->f) != 0 ||
      fseeko(w->f, (off_t)(w->data_start + w->written + n), SEEK_SET) != 0)
    return stw_fail(w, err, WARM_EIO, "seek failed");
  w->written += n;
  return 0;
}

static void stw_free(warm_st_writer *w) {
  for (size_t i = 0; i < w->n; i++)
    free(w->t[i].name);
  free(w->t);
  json_decref(w->meta);
  free(w->path);
  free(w->tmp);
  free(w);
}

int warm_st_writer_close(warm_st_writer *w, warm_error *err) {
  int rc = 0;
  if (w->failed || !w->begun || w->written != w->total) {
    rc = warm_error_set(
        err, WARM_EINVAL, "%s: closed with %llu of %llu data bytes written",
        w->path, (unsigned long long)w->written, (unsigned long long)w->total);
    warm_st_writer_abort(w);
    return rc;
  }
  FILE *f = w->f;
  w->f = NULL;
  /* A trailing hole has no byte written after it: set the length. */
  int fl = fflush(f);
  if (fl == 0 && ftruncate(fileno(f), (off_t)(w->data_start + w->total)) != 0)
    fl = -1;
  if (fclose(f) != 0 || fl != 0)
    rc = warm_error_set(err, WARM_EIO, "%s: close failed: %s", w->path,
                        strerror(errno));
  else if (rename(w->tmp, w->path) != 0)
    rc = warm_error_set(err, WARM_EIO, "%s: rename failed: %s", w->path,
                        strerror(errno));
  if (rc) remove(w->tmp);
  stw_free(w);
  return rc;
}

void warm_st_writer_abort(warm_st_writer *w) {
  if (!w) return;
  if (w->f) {
    fclose(w->f);
    remove(w->tmp);
  }
  stw_free(w);
}

int warm_st_write_file(const char *path, const warm_tensor *tensors,
                       size_t n_tensors, const warm_kv *meta, size_t n_meta,
                       warm_error *err) {
  warm_st_writer *w;
  int rc = warm_st_writer_open(path, &w, err);
  if (rc) return rc;
  for (size_t i = 0; !rc && i < n_meta; i++)
    rc = warm_st_writer_meta(w, meta[i].key, meta[i].value, err);
  for (size_t i = 0; !rc && i < n_tensors; i++)
    rc = warm_st_writer_declare(w, tensors[i].name, tensors[i].dtype,
                                tensors[i].ndim, tensors[i].shape, err);
  if (!rc) rc = warm_st_writer_begin(w, err);
  for (size_t i = 0; !rc && i < n_tensors; i++)
    rc = warm_st_writer_write(w, tensors[i].data,
                              warm_tensor_bytes(&tensors[i]), err);
  if (rc) {
    warm_st_writer_abort(w);
    return rc;
  }
  return warm_st_writer_close(w, err);
}
