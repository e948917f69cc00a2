/*
 * wpc.h — warm_plugin_common, the code model plugins share (static library
 * plugins/common, prefix wpc_):
 *   wpc_pack.c   tensor packs: a named set of tensors laid out in one blob
 *                (the globals of a model, or one block)
 *   wpc_place.c  weights on the device: the globals blob (persistent) and
 *                the blocks, resident (one persistent blob) or streamed
 *                through the SDK streamer, both from the same converted
 *                bytes so both placements compute identically
 *   wpc_util.c   the AdaLN sinusoidal timestep projection, weight
 *                fingerprints, dtype mapping
 *   wpc_entry.c  entry-point checks: dtypes and devices, placement
 *                requests, the device's compute context, run inputs
 */
#ifndef WPC_H
#define WPC_H

#include <stddef.h>
#include <stdint.h>

#include "warm/model.h"
#include "warm/safetensors.h"
#include "warm/streamer.h"
#include "warm/warm.h"
#include "wk.h"

#define WPC_MAX_TENSORS 128
#define WPC_NAME_MAX 96

/* One tensor of a pack: `name` relative to the pack's prefix. Matrices are
 * stored in the component dtype, everything else in f32. Absent optional
 * tensors keep their slot with bytes 0, so indices never move. */
typedef struct wpc_tensor {
  char name[WPC_NAME_MAX];
  int32_t ndim;
  int64_t shape[2];
  int matrix;
  int present;
  size_t offset; /* in the blob, WARM_STREAM_ALIGN aligned */
  size_t bytes;
} wpc_tensor;

typedef struct wpc_pack {
  int n;
  wpc_tensor t[WPC_MAX_TENSORS];
  size_t total; /* blob bytes */
} wpc_pack;

/* Appends a tensor (d1 == 0: a vector) and returns its index, or -1 when
 * the pack is full. */
int wpc_pack_add(wpc_pack *p, const char *name, int present, int64_t d0,
                 int64_t d1, int matrix);
/* Offsets and bytes for stored dtype `dt`. */
void wpc_pack_layout(wpc_pack *p, warm_dtype dt);
/* Checks every present tensor of the pack in `st` under prefix + name: its
 * shape, and a float dtype. Errors name the file, the key and the shapes. */
int wpc_pack_check(const wpc_pack *p, const warm_st *st, const char *prefix,
                   warm_error *err);

/* Called after a matrix is decoded to f32 on the host and before it is
 * stored, e.g. to fuse a LoRA: w [rows, cols] may be changed in place.
 * `key` is the full checkpoint key. */
typedef int (*wpc_fuse_fn)(void *user, const char *key, float *w, int64_t rows,
                           int64_t cols, warm_error *err);

/* The weights of a block model on one device. Fill the fields above the
 * line, then call wpc_weights_place. */
typedef struct wpc_weights {
  const warm_services *svc;
  const char *name; /* for messages */
  wk_ctx *wk;
  const warm_st *st;
  warm_dtype dtype;
  int cuda;
  const char *gprefix; /* key prefix of the globals, e.g. "model.x." */
  const char *bfmt;    /* block prefix format with one %lld, e.g.
                          "model.x.transformer_blocks.%lld." */
  int64_t layers;
  wpc_pack g, b;
  wpc_fuse_fn fuse;
  void *fuse_user;
  /* ---- state ---- */
  int placed;
  warm_place_req place;
  void *gdev;    /* globals blob (persistent) */
  float *gscale; /* per-global fp8 scales */
  void *bdev;    /* resident: layers * b.total (persistent) */
  float *bscale; /* [layers][b.n] fp8 scales */
  void **bhost;  /* stream from mmap: converted host copies */
  warm_streamer *streamer;
} wpc_weights;

/* Makes the weights serve in `req` (RESIDENT or STREAM). The new block
 * placement is built completely before the old one is released; the
 * globals are placed once and kept. */
int wpc_weights_place(wpc_weights *w, const warm_place_req *req,
                      warm_error *err);
/* Frees the block placement (not the globals). */
void wpc_weights_release(wpc_weights *w);
/* Frees everything. */
void wpc_weights_free(wpc_weights *w);
/* Window and pinned bytes a STREAM placement would take. */
int wpc_stream_plan(const wpc_weights *w, const warm_place_req *req,
                    warm_stream_plan *plan, warm_error *err);
/* Device pointers of the globals (ptr[i] NULL when absent). */
void wpc_globals(const wpc_weights *w, const void **ptr);
/* Device pointers and fp8 scales of block l, from the resident blob or the
 * streamer (acquire); wpc_block_done releases a streamed block. */
int wpc_block_get(wpc_weights *w, int64_t l, const void **ptr,
                  const float **scale, warm_error *err);
int wpc_block_done(wpc_weights *w, int64_t l, warm_error *err);

/* wk operand of tensor i of a pack. */
static inline wk_dtype wpc_wkdt(warm_dtype d) {
  return d == WARM_BF16 ? WK_BF16 : d == WARM_FP8_E4M3 ? WK_FP8_E4M3 : WK_F32;
}
static inline wk_w wpc_w(const wpc_pack *p, warm_dtype dt,
                         const void *const *ptr, const float *scale, int i) {
  wk_w w = {p->t[i].present ? ptr[i] : NULL,
            p->t[i].matrix ? wpc_wkdt(dt) : WK_F32,
            p->t[i].matrix ? scale[i] : 1.0f};
  return w;
}

/* diffusers / ltx-core Timesteps(256, flip_sin_to_cos=True,
 * downscale_freq_shift=0): [cos | sin] of t * exp(-ln(1e4) * i / 128),
 * float32 step by step as torch computes it. out [n, WPC_TPROJ]. */
#define WPC_TPROJ 256
void wpc_timestep_proj(const float *t, int64_t n, float *out);

/* 256 bits of identity (4 x 64-bit FNV-1a lanes with distinct offsets),
 * for fingerprint(): feed the plugin name and version, config and dtype
 * bytes and each weights file (wpc_fp_file: device, inode, size, mtime and
 * the tensor table), then print 64 hex chars. */
typedef struct wpc_fp {
  uint64_t h[4];
} wpc_fp;
void wpc_fp_init(wpc_fp *f);
void wpc_fp_add(wpc_fp *f, const void *p, size_t n);
int wpc_fp_file(wpc_fp *f, const warm_st *st, warm_error *err);
void wpc_fp_hex(const wpc_fp *f, char out[65]);

/* ---- entry points (wpc_entry.c) ----------------------------------------- */

/* The dtype to use (f32 when unset; f32, bf16 or fp8) of a component with a
 * weights path on a cpu or cuda device; WARM_EINVAL / WARM_EUNSUPPORTED
 * naming `who` otherwise. */
int wpc_check_caps(const warm_component_config *cfg, const char *who,
                   warm_dtype *dt, warm_error *err);
/* A resident or stream request (a window >= 1 from pinned or mmap). */
int wpc_check_req(const char *name, const warm_place_req *req,
                  warm_error *err);
/* The cpu or cuda context of cfg->device; for a plan-only instance
 * (warm_plan_only(svc)) a sizing context that needs no device. */
int wpc_ctx(const warm_services *svc, const warm_component_config *cfg,
            int threads, const char *who, wk_ctx **out, warm_error *err);
/* The run input named `name`, or NULL. */
const warm_tensor *wpc_input(const warm_run_args *a, const char *name);

#endif /* WPC_H */
