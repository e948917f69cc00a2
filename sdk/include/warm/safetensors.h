/*
 * warm/safetensors.h — reading and writing safetensors checkpoints.
 *
 * Reading. warm_st_open() takes a `.safetensors` file or a checkpoint folder:
 *   - a folder with `model.safetensors.index.json` (HF sharded layout): the
 *     shards named in its weight_map are opened, and every tensor must be in
 *     the shard the index names;
 *   - otherwise every `*.safetensors` file in the folder (sorted by name; a
 *     plain `model.safetensors`, or `model-0000x-of-0000y.safetensors`).
 * Each file is mmap'd read-only; its header (8-byte little-endian length +
 * JSON) is parsed with jansson and validated whole before anything is
 * returned: header length within the file and at most 100 MiB, a JSON
 * object, `__metadata__` string -> string only, known dtypes, at most
 * WARM_MAX_DIMS non-negative dims, shape x dtype size == byte span with no
 * overflow, spans inside the data section, spans pairwise non-overlapping,
 * no duplicate names (also across shards). Gaps between spans and unused
 * bytes at the end are accepted (the spec does not require covering spans).
 * Every refusal is WARM_EFORMAT (WARM_EIO for a missing/unreadable file)
 * with a message naming the file and, where there is one, the tensor.
 *
 * Tensors come back as views into the mmap: valid until warm_st_close(), on
 * the cpu device, never to be written. Lookup by name is a hash lookup.
 * A warm_st is immutable after open: concurrent readers need no lock.
 */
#ifndef WARM_SAFETENSORS_H
#define WARM_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "warm/plugin.h"
#include "warm/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

/* The safetensors dtype strings. Those with a warm_dtype equivalent map to
 * it (warm_st_entry.dtype); the others (BOOL, I8, ...) can be listed and read
 * as bytes but have dtype WARM_DTYPE_NONE. */
typedef enum warm_st_dtype {
  WARM_ST_BOOL = 0,
  WARM_ST_U8,
  WARM_ST_I8,
  WARM_ST_I16,
  WARM_ST_U16,
  WARM_ST_F16,
  WARM_ST_BF16,
  WARM_ST_I32,
  WARM_ST_U32,
  WARM_ST_F32,
  WARM_ST_F64,
  WARM_ST_I64,
  WARM_ST_U64,
  WARM_ST_F8_E4M3,
  WARM_ST_F8_E5M2,
  WARM_ST_DTYPE_COUNT
} warm_st_dtype;

/* "BF16" etc.; NULL when out of range. */
const char *warm_st_dtype_name(warm_st_dtype d);
/* Bytes per element (BOOL: 1). 0 when out of range. */
size_t warm_st_dtype_size(warm_st_dtype d);
/* The warm_dtype for a safetensors dtype, WARM_DTYPE_NONE when none. */
warm_dtype warm_st_dtype_to_warm(warm_st_dtype d);
/* The safetensors dtype for writing a warm_dtype; -1 for NONE/unknown. */
int warm_st_dtype_from_warm(warm_dtype d);

/* One tensor of an open checkpoint. All pointers live until warm_st_close. */
typedef struct warm_st_entry {
  const char *name;
  warm_st_dtype st_dtype;
  warm_dtype dtype; /* WARM_DTYPE_NONE when st_dtype has no equivalent */
  int32_t ndim;
  int64_t shape[WARM_MAX_DIMS];
  uint64_t nbytes;      /* span length in the file */
  const void *data;     /* inside the mmap; NULL only when nbytes == 0 */
  uint32_t file;        /* index into the checkpoint's files */
  uint64_t file_offset; /* absolute byte offset of data in that file */
} warm_st_entry;

typedef struct warm_st warm_st;

/* Opens a file or a folder (see above). The caller owns *out and releases it
 * with warm_st_close. */
int warm_st_open(const char *path, warm_st **out, warm_error *err);

/* Parses a whole safetensors image from memory (header and data) with the
 * same validation; `name` is used in messages. The buffer is not copied: it
 * must outlive the returned handle. Used by the fuzzer and by tests. */
int warm_st_open_buffer(const void *buf, size_t len, const char *name,
                        warm_st **out, warm_error *err);

/* Safe on NULL. Unmaps every file; every view becomes invalid. */
void warm_st_close(warm_st *st);

/* Number of tensors, and the i-th in a stable order (by file, then by
 * offset in the file: the order the bytes are laid out). */
size_t warm_st_count(const warm_st *st);
const warm_st_entry *warm_st_at(const warm_st *st, size_t i);

/* Hash lookup; NULL when absent. */
const warm_st_entry *warm_st_find(const warm_st *st, const char *name);

/* Looks up `name` and fills *out with a cpu view (out->name points at the
 * entry's name, scale = 1). WARM_EFORMAT naming the checkpoint and tensor
 * when absent or when its dtype has no warm_dtype. */
int warm_st_get(const warm_st *st, const char *name, warm_tensor *out,
                warm_error *err);

/* As warm_st_get, and also checks the shape: ndim dims equal to `shape`
 * (a dim of -1 matches anything). The message gives the expected and the
 * found shape. The plugins' one-liner for "this tensor, this shape". */
int warm_st_expect(const warm_st *st, const char *name, int32_t ndim,
                   const int64_t *shape, warm_tensor *out, warm_error *err);

/* `__metadata__` value for key (merged over all files; index.json
 * "metadata" is not included), NULL when absent; and iteration over it. */
const char *warm_st_metadata(const warm_st *st, const char *key);
size_t warm_st_metadata_count(const warm_st *st);
int warm_st_metadata_at(const warm_st *st, size_t i, const char **key,
                        const char **value);

/* Files of the checkpoint: count, path, mapped base and size (for
 * registering a file's pages with the device, or identity hashing). */
uint32_t warm_st_file_count(const warm_st *st);
const char *warm_st_file_path(const warm_st *st, uint32_t i);
const void *warm_st_file_base(const warm_st *st, uint32_t i);
uint64_t warm_st_file_size(const warm_st *st, uint32_t i);

/* The path given to warm_st_open (a file or a folder). */
const char *warm_st_path(const warm_st *st);

/* Sum of all tensors' byte spans. */
uint64_t warm_st_total_bytes(const warm_st *st);

/* ---- writing ------------------------------------------------------------ */

/*
 * A streaming writer: the header must precede the data, so every tensor is
 * declared first (name, dtype, shape), then the data is written in
 * declaration order, in chunks of any size, and never all in memory:
 *
 *   warm_st_writer_open(path, &w, err);
 *   warm_st_writer_meta(w, "format", "pt", err);          (any number)
 *   warm_st_writer_declare(w, "a.weight", WARM_BF16, 2, shape, err);  (all)
 *   warm_st_writer_begin(w, err);                          (writes header)
 *   warm_st_writer_write(w, bytes, n, err);                (all the data)
 *   warm_st_writer_close(w, err);      (checks every byte came; frees w)
 *
 * Data offsets are 8-byte aligned (the header is padded with spaces).
 * The file is written to `path.tmp` and renamed on a successful close, so a
 * failed write never leaves a half file under `path`. After any failure
 * only warm_st_writer_abort(w) is allowed; it removes the temporary file and
 * frees w. Not thread-safe: one thread drives a writer.
 */
typedef struct warm_st_writer warm_st_writer;

int warm_st_writer_open(const char *path, warm_st_writer **out,
                        warm_error *err);
int warm_st_writer_meta(warm_st_writer *w, const char *key, const char *value,
                        warm_error *err);
/* dtype: any warm_dtype but NONE. Duplicate names are refused. */
int warm_st_writer_declare(warm_st_writer *w, const char *name,
                           warm_dtype dtype, int32_t ndim, const int64_t *shape,
                           warm_error *err);
int warm_st_writer_begin(warm_st_writer *w, warm_error *err);
int warm_st_writer_write(warm_st_writer *w, const void *data, size_t n,
                         warm_error *err);
/* Writes n zero bytes as a hole (a seek, not a write): on filesystems with
 * sparse files they cost no disk, and they read back as zeros. */
int warm_st_writer_skip(warm_st_writer *w, uint64_t n, warm_error *err);
/* Frees w whatever the result. */
int warm_st_writer_close(warm_st_writer *w, warm_error *err);
void warm_st_writer_abort(warm_st_writer *w);

/* One-call writer for small files (goldens, tests): tensors[i].data are host
 * pointers of warm_tensor_bytes() bytes; meta is n_meta key/value pairs (may
 * be NULL). */
int warm_st_write_file(const char *path, const warm_tensor *tensors,
                       size_t n_tensors, const warm_kv *meta, size_t n_meta,
                       warm_error *err);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WARM_SAFETENSORS_H */
