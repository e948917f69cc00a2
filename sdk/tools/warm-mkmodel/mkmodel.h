/*
 * mkmodel.h — warm-mkmodel's arch table and the helpers every arch shares.
 *
 * An arch is one file, arch_<name>.c, defining
 *
 *     const mk_arch mk_arch_<name> = {"<name>", "tiny|small|full", make};
 *
 * where make() builds a config.json (mk_config_* helpers), plans its tensors
 * (mk_plan_add) and writes them (mk_write_tensors). CMakeLists.txt compiles
 * every arch_*.c and defines MK_HAVE_ARCH_<NAME> for each, and main.c's
 * table already lists the arches the project expects:
 *
 *     gemma3    arch_gemma3.c     mk_arch_gemma3     (here)
 *     ltxv      arch_ltxv.c       mk_arch_ltxv       (LTX-Video DiT, owned by
 *                                                     the LTX-Video engineer)
 *     ltxv-vae  arch_ltxv_vae.c   mk_arch_ltxv_vae   (LTX-Video VAE, same)
 *
 * so dropping arch_ltxv.c / arch_ltxv_vae.c into this folder (and
 * re-running cmake) is all it takes. A new arch adds its file and one line
 * to mk_archs[] in main.c.
 */
#ifndef WARM_MKMODEL_H
#define WARM_MKMODEL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "warm/warm.h"

/* One --set key=value, in command-line order. */
typedef struct mk_set {
  const char *key;
  const char *value;
} mk_set;

/* What main() hands an arch. Strings live for the whole run. */
typedef struct mk_ctx {
  const char *out_dir; /* created by main() */
  const char *preset;  /* "tiny" (default), "small" or "full" */
  uint64_t seed;
  warm_dtype dtype; /* WARM_F32 or WARM_BF16 */
  const mk_set *sets;
  size_t n_sets;
  const char *exe_dir; /* folder of the executable, for data files */
  uint64_t max_shard_bytes; /* --max-shard-bytes; 0: the arch's default */
  int quiet;
  const char *variant; /* --variant (ltx2: "2.0" or "2.3"), or NULL */
  int sparse;          /* --sparse: random tensors are written as zeros,
                          as file holes */
  int64_t rank;        /* --rank (ltx2-lora), 0 when absent */
  const char *blocks;  /* --blocks (ltx2-lora), or NULL */
} mk_ctx;

typedef struct mk_arch {
  const char *name;    /* --arch value */
  const char *presets; /* for --help */
  int (*make)(const mk_ctx *c, warm_error *err);
  int out_file; /* 1: --out names a file (its folder is created), not a
                   folder */
} mk_arch;

/* ---- config.json ----------------------------------------------------------
 */

/* Applies every --set except the keys in `skip` (NULL-terminated) to obj.
 * A dotted key sets a nested value, creating objects ("rope_scaling.factor").
 * A value that parses as JSON (number, true, null, "str", [..], {..}) is
 * stored as such, anything else as a string. */
int mk_config_apply_sets(json_t *obj, const mk_ctx *c, const char *const *skip,
                         warm_error *err);
/* The value of --set key, or NULL. */
const char *mk_set_get(const mk_ctx *c, const char *key);
/* Reads a positive integer from obj[key] (after --set), naming the key. */
int mk_config_dim(json_t *obj, const char *key, int64_t *out, warm_error *err);
/* Writes obj as DIR/config.json (indented, key order kept). */
int mk_config_write(const mk_ctx *c, json_t *obj, warm_error *err);

/* ---- tensors
 * ------------------------------------------------------------------ */

typedef enum mk_init {
  MK_NORMAL = 0, /* N(mean, std) (approximately: Irwin-Hall, 4 terms) */
  MK_CONST = 1,  /* every element = mean */
  MK_FUNC = 2,   /* computed by fill() (constant buffers); at most
                    MK_FUNC_MAX elements */
} mk_init;

#define MK_FUNC_MAX (1u << 22)

typedef struct mk_tensor mk_tensor;
/* Writes all numel values of t into out (f32). */
typedef void (*mk_fill_fn)(const mk_tensor *t, float *out);

struct mk_tensor {
  char name[160];
  int32_t ndim;
  int64_t shape[WARM_MAX_DIMS];
  mk_init init;
  float mean, std;
  mk_fill_fn fill;   /* MK_FUNC only */
  double arg[4];     /* parameters for fill() */
};

typedef struct mk_plan {
  mk_tensor *t;
  size_t n, cap;
} mk_plan;

/* Appends a tensor; name is printf-style. */
int mk_plan_add(mk_plan *p, mk_init init, float mean, float std, int32_t ndim,
                const int64_t *shape, warm_error *err, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 8, 9)))
#endif
    ;
void mk_plan_free(mk_plan *p);

/* Writes the planned tensors in c->dtype: one model.safetensors when the
 * total is at most `shard_bytes`, else model-0000i-of-0000n.safetensors plus
 * model.safetensors.index.json. Values are generated in chunks, so memory
 * stays bounded whatever the size; each tensor's values depend only on the
 * seed and its name (same seed -> same bytes). */
int mk_write_tensors(const mk_ctx *c, const mk_plan *p, uint64_t shard_bytes,
                     warm_error *err);

/* Appends an MK_FUNC tensor; name is printf-style. */
int mk_plan_add_func(mk_plan *p, mk_fill_fn fill, const double *arg, int n_arg,
                     int32_t ndim, const int64_t *shape, warm_error *err,
                     const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 8, 9)))
#endif
    ;

/* Writes the planned tensors as the one file `path` in c->dtype, with the
 * metadata pairs meta[0..n_meta) after "format": "pt". With c->sparse every
 * zero-mean tensor (random or constant) becomes a file hole; the others
 * and the MK_FUNC tensors are written. */
int mk_write_file(const mk_ctx *c, const mk_plan *p, const char *path,
                  const warm_kv *meta, size_t n_meta, warm_error *err);

/* A diffusers-style folder: config.json, then the planned tensors, one
 * `diffusion_pytorch_model.safetensors` when they fit `one_file` bytes and
 * --max-shard-bytes is unset (else shards with an index). `arch` prefixes
 * messages. */
int mk_write_diffusers(const mk_ctx *c, json_t *config, const mk_plan *p,
                       uint64_t one_file, const char *arch, warm_error *err);

/* Copies a data file (found next to the executable in ../share/warmd/, else
 * in the source tree) to DIR/dst_name. */
int mk_copy_data(const mk_ctx *c, const char *data_name, const char *dst_name,
                 warm_error *err);
/* Locates a data file as above into buf. */
int mk_find_data(const mk_ctx *c, const char *data_name, char *buf, size_t n,
                 warm_error *err);

#endif /* WARM_MKMODEL_H */
