/*
 * warm/streamer.h — the weight streamer: a model's layers pass through a
 * window of W device slots, layer i+1 ... i+W-1 being copied while layer i
 * computes.
 *
 * Use (one plugin instance, its executor thread):
 *
 *   warm_stream_layer layers[L];        (each: tensors = host src + bytes)
 *   warm_streamer_plan(layers, L, &plan_cfg, &plan, err);   (estimate())
 *   warm_streamer_create(wk, layers, L, &cfg, &s, err);     (place())
 *   for each run:
 *     for i in 0..L-1:
 *       warm_streamer_acquire(s, i, &ptrs, err);   device pointers of layer
 *                                                  i's tensors, in order
 *       ... ops on the compute stream using ptrs ...
 *       warm_streamer_release(s, i, err);          slot may be reused
 *   warm_streamer_destroy(s);
 *
 * Layout. In a slot, the tensors of a layer sit at offsets aligned to
 * WARM_STREAM_ALIGN. A layer is always moved with ONE copy per slot fill:
 *   - source PINNED: at create, each layer is packed into its own
 *     page-locked host buffer (exact size, through cfg.host_alloc, or
 *     wk_host_alloc_pinned when NULL; the caller accounts host_pinned =
 *     plan.host_bytes). The caller's sources may be freed after create.
 *   - source MMAP: the sources must stay mapped for the streamer's life.
 *     When a layer's tensors are laid out in the file so that the span from
 *     the first to the last byte can be copied as is (gaps and misalignment
 *     relative to WARM_STREAM_ALIGN allowed only as the file has them: each
 *     tensor's offset from the span start must be a multiple of
 *     WARM_STREAM_ALIGN_MIN, and the span at most 1/8 larger than the
 *     tensors), the span is copied directly (on CUDA after
 *     wk_host_register of its pages where possible, else through a pinned
 *     bounce buffer of one slot). Otherwise the layer is copied tensor by
 *     tensor (on cpu from the copy thread, on CUDA through the bounce
 *     buffer, so still one H2D copy).
 *
 * Windows. A slot keeps its layer after release until it is needed for
 * another one, so with W >= L every layer is copied once and then stays:
 * the resident case runs through the same code (and the same bytes) as the
 * streamed one. With W < L the acquire order must be 0, 1, ..., L-1 per
 * pass for prefetching to pay; any other order is still correct (a miss
 * discards the prefetched layers and copies what is asked).
 *
 * Backends. cuda: copies are wk_copy_h2d_async on the copy stream; a slot's
 * fill waits on the event recorded on the compute stream at its previous
 * release (wk_copy_wait), and acquire makes the compute stream wait on the
 * fill's event (wk_compute_wait) — acquire does not block the host. cpu: a
 * copy thread fills slots ahead; acquire blocks until layer i is in its
 * slot. On both, at most W layers are held: acquiring while W layers are
 * acquired and not released fails with WARM_EINVAL.
 *
 * Threads. Acquire/release/destroy from one thread (the executor). Errors
 * of background copies are reported by the next acquire.
 */
#ifndef WARM_STREAMER_H
#define WARM_STREAMER_H

#include <stddef.h>
#include <stdint.h>

#include "warm/plugin.h"
#include "wk.h"

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

/* Offset alignment of tensors packed into a slot / pinned buffer. */
#define WARM_STREAM_ALIGN 256
/* Minimum alignment of tensors within an mmap span copied as is. */
#define WARM_STREAM_ALIGN_MIN 16

typedef struct warm_stream_tensor {
  const void *src; /* host bytes (e.g. a warm_st_entry's data) */
  size_t bytes;
} warm_stream_tensor;

typedef struct warm_stream_layer {
  const warm_stream_tensor *tensors; /* copied at create; may be freed */
  uint32_t n_tensors;
} warm_stream_layer;

/* Allocators the caller provides, so every byte is accounted. */
typedef struct warm_stream_alloc {
  void *user;
  int (*alloc)(void *user, size_t bytes, void **out, warm_error *err);
  void (*free)(void *user, void *ptr);
} warm_stream_alloc;

typedef struct warm_streamer_config {
  uint32_t window; /* W >= 1 slots (clamped to the number of layers) */
  warm_stream_source source; /* WARM_SOURCE_PINNED or _MMAP */
  /* Required: device memory for the W slots (and nothing else). A plugin
   * passes one calling svc->dev_alloc(ctx, WARM_MEM_WINDOW, ...). */
  warm_stream_alloc dev_alloc;
  /* Optional: page-locked host memory for the PINNED copy and bounce
   * buffers (svc->pinned_alloc). NULL .alloc = wk_host_alloc_pinned. */
  warm_stream_alloc host_alloc;
  const char *name; /* for messages, e.g. the component name; may be NULL */
} warm_streamer_config;

/* What a configuration will take, without allocating (for estimate()). */
typedef struct warm_stream_plan {
  uint64_t slot_bytes;   /* one slot: max over layers of the packed size */
  uint64_t window_bytes; /* W * slot_bytes: the WARM_MEM_WINDOW booking */
  uint64_t host_bytes;   /* page-locked host bytes (copy or bounce) */
  uint64_t layer_bytes;  /* sum of all tensors' bytes */
} warm_stream_plan;

/* Plan for `layers` with `window` slots and `source`. For MMAP,
 * host_bytes is an upper bound (a bounce buffer of one slot on cuda;
 * 0 on cpu). backend: where the slots live. */
int warm_streamer_plan(const warm_stream_layer *layers, uint32_t n_layers,
                       uint32_t window, warm_stream_source source,
                       wk_backend backend, warm_stream_plan *out,
                       warm_error *err);

typedef struct warm_streamer warm_streamer;

/* Allocates the window (and the pinned copy for PINNED), starts the copy
 * thread on cpu. Nothing is copied to the device yet. On failure nothing
 * is held. The caller owns *out; wk must outlive it. */
int warm_streamer_create(wk_ctx *wk, const warm_stream_layer *layers,
                         uint32_t n_layers, const warm_streamer_config *cfg,
                         warm_streamer **out, warm_error *err);

/* Waits for every copy in flight, frees slots and host buffers. Safe on
 * NULL. The caller must have finished the compute that read the slots (cpu:
 * returned from the ops; cuda: destroy synchronises the context). */
void warm_streamer_destroy(warm_streamer *s);

/* Device pointers of layer i's tensors (*ptrs[k] for tensor k, valid until
 * release(i)), starting copies ahead. See the backend notes above. */
int warm_streamer_acquire(warm_streamer *s, uint32_t layer, void *const **ptrs,
                          warm_error *err);
/* Ends the use of layer i's slot; the slot may be refilled. WARM_EINVAL
 * when i is not acquired. */
int warm_streamer_release(warm_streamer *s, uint32_t layer, warm_error *err);

typedef struct warm_stream_stats {
  uint64_t streamed_bytes;    /* bytes copied host -> device since create */
  uint64_t copies;            /* slot fills */
  uint64_t hits;              /* acquires found already in a slot */
  uint64_t wait_ns;           /* host time blocked in acquire (cpu) */
  uint32_t contiguous_layers; /* layers moved as one span / packed copy */
  uint32_t registered;        /* mmap spans page-locked in place (cuda) */
} warm_stream_stats;

void warm_streamer_stats(const warm_streamer *s, warm_stream_stats *out);
/* Zeroes the byte/copy/hit/wait counters (e.g. per run). */
void warm_streamer_stats_reset(warm_streamer *s);
/* The window in slots, after clamping to the number of layers. */
uint32_t warm_streamer_window(const warm_streamer *s);
uint64_t warm_streamer_slot_bytes(const warm_streamer *s);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WARM_STREAMER_H */
