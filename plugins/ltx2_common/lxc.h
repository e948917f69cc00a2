/*
 * lxc.h — what the LTX-2 decoder plugins share (static library
 * ltx2_common): a weight table placed resident or streamed, the scaffolding
 * of their entry points, and network pieces common to them.
 *
 * Weights. A plugin lists its tensors once (lxc_tab_add) with the shape the
 * config implies; lxc_tab_check compares them with the file, lxc_place
 * converts them to the component dtype ("matrix" tensors: convolution and
 * linear weights) or f32 (everything else) and puts them
 *   - resident: in one persistent device blob, or
 *   - streamed: in a pinned host copy, each tensor copied at use into the
 *     next slot of a device window of `stream_window` slots (two at least,
 *     so a weight and its bias are present together). Copies are ordered on
 *     the compute stream before the op that reads them; there is no
 *     copy/compute overlap.
 * lxc_get returns the operand for the current placement.
 */
#ifndef LXC_H
#define LXC_H

#include <stddef.h>
#include <stdint.h>

#include "warm/ltx2.h"
#include "warm/model.h"
#include "warm/plugin.h"
#include "warm/safetensors.h"
#include "warm/warm.h"
#include "wk.h"
#include "wpc.h"

typedef struct lxc_t {
  char name[128]; /* full key in the file */
  int32_t ndim;
  int64_t shape[5];
  int matrix;
  size_t offset, bytes;
  float scale;
} lxc_t;

typedef struct lxc_tab {
  lxc_t *t;
  int n, cap;
  size_t bytes;     /* all tensors, placed */
  size_t max_bytes; /* the largest one */
  size_t pack;      /* resident: the conv pack arena after them (0: none) */
  int failed;       /* an add ran out of memory */
} lxc_tab;

/* Adds prefix+name with `ndim` dims (from the variadic int64_t list);
 * returns its index, or -1 when out of memory (then lxc_tab_check fails). */
int lxc_tab_add(lxc_tab *tb, warm_dtype dt, int matrix, const char *prefix,
                const char *name, int32_t ndim, ...);
void lxc_tab_free(lxc_tab *tb);
/* Every tensor present with its shape (messages name file, key, shapes). */
int lxc_tab_check(const lxc_tab *tb, const warm_st *st, const char *who,
                  warm_error *err);

/* A placed weight table. */
typedef struct lxc_weights {
  const warm_services *svc;
  wk_ctx *wk;
  warm_dtype dtype;
  warm_placement placement; /* 0 while unplaced */
  void *blob;               /* resident: device; streamed: pinned host */
  void *window;             /* streamed: device slots */
  uint32_t slots, next;
  size_t slot_bytes;
  uint64_t streamed; /* bytes copied through the window by this run */
} lxc_weights;

/* Device bytes of a placement (persistent, window, host_pinned). A
 * resident placement also holds the plugin's conv pack arena (tb->pack,
 * the sum of wk_conv3d_packed_bytes over its convs), right after the
 * weights in the same booking, given to the context with
 * wk_set_pack_arena: each conv's weights are reordered into it once. */
void lxc_estimate_weights(const lxc_tab *tb, const warm_place_req *req,
                          warm_estimate *out);
/* Converts and uploads every tensor for `req`; on failure the previous
 * placement still serves. `hook` (may be NULL) sees each converted host
 * tensor (for values a plugin keeps on the host). */
typedef void (*lxc_hook)(void *arg, int index, const void *host);
int lxc_place(lxc_weights *w, lxc_tab *tb, const warm_st *st,
              const warm_place_req *req, lxc_hook hook, void *arg,
              const char *who, warm_error *err);
void lxc_unplace(lxc_weights *w);
/* The operand of tensor i (i < 0: none); NULL data when a window copy
 * failed, which the next op reports. */
wk_w lxc_get(lxc_weights *w, const lxc_tab *tb, int i);

/* ---- scaffolding -------------------------------------------------------- */

/* The dtype to use (f32 when unset) and a placement the plugins serve
 * (resident, stream from pinned, auto); WARM_EUNSUPPORTED otherwise. */
int lxc_check_caps(const warm_component_config *cfg, const char *who,
                   warm_dtype *dt, warm_error *err);
/* A host f32 input with `ndim` dims (a leading batch of 1 is accepted and
 * dropped); fills dims. */
int lxc_input_f32(const warm_run_args *a, const char *name, int32_t ndim,
                  int64_t *dims, const float **data, const char *who,
                  warm_error *err);
/* File identity (device, inode, size, mtime) + tensor names + plugin name,
 * version and dtype, as 64 hex chars. */
int lxc_fingerprint(const warm_st *st, const lxc_tab *tb, const char *plugin,
                    const char *version, warm_dtype dt, char out[65],
                    const char *who, warm_error *err);
/* Parses a plugin key as an integer in [lo, hi] / a boolean; absent keeps
 * *out. Messages name the component and key. */
int lxc_key_int(const warm_component_config *cfg, const char *key, int64_t lo,
                int64_t hi, int64_t *out, warm_error *err);
int lxc_key_bool(const warm_component_config *cfg, const char *key, int *out,
                 warm_error *err);
/* WARM_EINVAL naming the first key of cfg not in `known` (NULL-ended). */
int lxc_keys_known(const warm_component_config *cfg, const char *const *known,
                   const char *who, warm_error *err);

/* ---- network pieces ------------------------------------------------------ */

/* Sinusoidal timestep projection, 256 wide, [cos | sin] (diffusers'
 * Timesteps(256, flip_sin_to_cos=True, shift 0), ltx-core's too; vae_ltxv
 * uses it as well). */
/* A run's workspace: n buffers laid out one after the other, each aligned
 * to 256 bytes (a zero-size one still gets its own slot). Fills off[] and
 * returns the total. */
static inline size_t lxc_layout(const size_t *size, size_t *off, int n) {
  size_t at = 0;
  for (int i = 0; i < n; i++) {
    off[i] = at;
    at += ((size[i] ? size[i] : 1) + 255) / 256 * 256;
  }
  return at;
}

/* Returns from the calling function when call fails. */
#define LXC_CK(call)                                                           \
  do {                                                                         \
    int rc_ = (call);                                                          \
    if (rc_) return rc_;                                                       \
  } while (0)

#define LXC_TPROJ 256
void lxc_timestep_proj(float t, float *out);

/* y[C, S] = silu?(x * (1 + scale) + shift) after an RMS norm over the C
 * channels of each of the S positions (PixelNorm, eps). scale/shift [C] on
 * the device or NULL; tmp holds C*S floats; y may be x. */
int lxc_pixelnorm(wk_ctx *k, const float *x, int64_t C, int64_t S, float eps,
                  const float *scale, const float *shift, int act, float *tmp,
                  float *y);

#endif /* LXC_H */
