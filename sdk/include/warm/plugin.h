/*
 * warm/plugin.h — the warmd plugin ABI, version 1 (minor 2).
 *
 * A plugin is a shared object that implements one component kind (a text
 * encoder, a diffusion transformer stage, a VAE decoder). warmd opens it with
 * dlopen(RTLD_NOW | RTLD_LOCAL), looks up ONE exported function,
 * WARM_PLUGIN_ENTRY_NAME, and calls it to get a const descriptor. Everything
 * else is reached through that descriptor (plugin -> host) and through the
 * services table the host hands to create() (host -> plugin).
 *
 * Versioning. WARM_ABI_MAJOR changes when an existing field moves, changes
 * type or changes meaning; the host refuses a plugin of another major. A minor
 * bump only appends fields at the end of warm_plugin_desc, warm_services or
 * warm_run_args; every such struct starts with (or carries) struct_size, and
 * each side reads a field only when the other side's struct_size covers it
 * (WARM_HAS_FIELD). The host refuses a plugin whose minor is newer than its
 * own, because that plugin may rely on services the host does not have.
 *
 * Error convention. Every fallible entry point returns WARM_OK (0) or a
 * negative WARM_E* code and, on failure, writes a one-line reason into the
 * warm_error it was given (warm_error_set does both). Nothing ever aborts,
 * exits or prints on its own: the host decides what to log. A failed create,
 * place or run leaves the instance exactly as it was before the call, so the
 * host can keep serving with the previous state.
 *
 * Threads. The host never calls two entry points of the same instance at once.
 * create/validate/destroy run on the host's loader thread; estimate/place/run
 * run on the executor thread of the component's device. Different instances
 * (even of the same .so) may run concurrently on different threads, so a
 * plugin keeps no mutable global state.
 *
 * Memory. Every byte of device memory a plugin holds comes from
 * svc->dev_alloc, which books it in the host's ledger under one of three
 * classes (persistent, window, workspace) and refuses — returns
 * WARM_ENOSPACE — rather than let the driver run out. On a cpu device
 * "device memory" is host RAM and is accounted the same way.
 */
#ifndef WARM_PLUGIN_H
#define WARM_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#include "warm/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

#define WARM_ABI_MAJOR 1
#define WARM_ABI_MINOR 2

/* The one symbol the host looks up. Define it with WARM_PLUGIN_EXPORT. */
#define WARM_PLUGIN_ENTRY_NAME "warm_plugin_entry"

#if defined(__GNUC__)
#define WARM_PLUGIN_EXPORT __attribute__((visibility("default")))
#else
#define WARM_PLUGIN_EXPORT
#endif

/* True when a struct of `type` that the other side built with `size` bytes
 * contains `field`. Use it before reading any field added after 1.0. */
#define WARM_HAS_FIELD(size, type, field)                                      \
  ((size) >= offsetof(type, field) + sizeof(((type *)0)->field))

/* ---- error convention ---------------------------------------------------- */

enum {
  WARM_OK = 0,
  WARM_EINVAL = -1,       /* bad argument, bad config value, bad input */
  WARM_ENOSPACE = -2,     /* the ledger refused: over the device budget */
  WARM_ENOMEM = -3,       /* host allocation failed */
  WARM_EIO = -4,          /* file missing or unreadable */
  WARM_EFORMAT = -5,      /* malformed weights/config/tokenizer file */
  WARM_EUNSUPPORTED = -6, /* capability not declared / not available here */
  WARM_ECANCELED = -7,    /* the job was cancelled (svc->cancelled said so) */
  WARM_EDEVICE = -8,      /* a device/driver call failed */
  WARM_EABI = -9,         /* ABI mismatch or bad descriptor */
  WARM_EINTERNAL = -10,   /* a bug: an invariant did not hold */
};

#define WARM_ERROR_MAX 512

/* Filled by the callee on failure; the caller owns the storage. */
typedef struct warm_error {
  int code;
  char msg[WARM_ERROR_MAX];
} warm_error;

/* ---- what a plugin is ------------------------------------------------------ */

typedef enum warm_kind {
  WARM_KIND_TEXT_ENCODER = 1,
  WARM_KIND_TRANSFORMER = 2,
  WARM_KIND_VAE = 3,
  /* ABI 1.2: a plugin declaring these must be built with minor >= 2. */
  WARM_KIND_UPSAMPLER = 4,     /* latent upsampler (LTX-2 x2 spatial) */
  WARM_KIND_AUDIO_DECODER = 5, /* audio latents -> waveform */
} warm_kind;

/* Capability bit sets. */
enum {
  WARM_DEVCAP_CPU = 1u << 0,
  WARM_DEVCAP_CUDA = 1u << 1,
};

typedef enum warm_placement {
  WARM_PLACE_RESIDENT = 1, /* layer weights live in device memory */
  WARM_PLACE_STREAM = 2,   /* layers pass through a window of slots */
  WARM_PLACE_AUTO = 4,     /* host resolves to RESIDENT or STREAM per call */
} warm_placement;

typedef enum warm_stream_source {
  WARM_SOURCE_PINNED = 1, /* a page-locked host copy of the layers */
  WARM_SOURCE_MMAP = 2,   /* the weights file's own pages */
} warm_stream_source;

/* Flags in warm_plugin_desc.flags. */
enum {
  /* place() may switch between resident and stream on a live instance. */
  WARM_FLAG_LIVE_PLACEMENT = 1u << 0,
};

/* Memory classes the ledger books device bytes under. */
typedef enum warm_mem_class {
  WARM_MEM_PERSISTENT = 1, /* resident weights, non-layer weights */
  WARM_MEM_WINDOW = 2,     /* streaming window slots */
  WARM_MEM_WORKSPACE = 3,  /* activations and scratch for one run */
} warm_mem_class;

enum { WARM_LOG_ERROR = 0, WARM_LOG_WARN = 1, WARM_LOG_INFO = 2,
       WARM_LOG_DEBUG = 3 };

/* ---- host -> plugin: the services table ----------------------------------- */

/*
 * One table per component instance, valid from create() until destroy()
 * returns. `ctx` identifies the instance to the host: pass it back as the
 * first argument of every service. All services are thread-safe.
 */
typedef struct warm_services {
  uint32_t struct_size; /* sizeof(warm_services) as the host built it */
  uint32_t abi_minor;   /* the host's WARM_ABI_MINOR */
  void *ctx;

  /* printf-style; the host prefixes the component name and level. */
  void (*log)(void *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__)
      __attribute__((format(printf, 3, 4)))
#endif
      ;

  /* Ledger-accounted memory on the component's device (the device of
   * warm_component_config.device; for cuda, the host makes that device
   * current before calling). Returns WARM_ENOSPACE, with a message naming
   * the budget, when the bytes do not fit; nothing is attempted then.
   * dev_free(ctx, NULL) is a no-op. */
  int (*dev_alloc)(void *ctx, warm_mem_class cls, size_t bytes, void **out,
                   warm_error *err);
  void (*dev_free)(void *ctx, void *ptr);

  /* Page-locked host memory (plain host memory where no GPU is), exact size.
   * Counted in the instance's host_pinned figure, not in a device budget. */
  int (*pinned_alloc)(void *ctx, size_t bytes, void **out, warm_error *err);
  void (*pinned_free)(void *ctx, void *ptr);

  /* Progress of the current run(), 0..1. Cheap; call it as often as useful. */
  void (*progress)(void *ctx, float fraction);

  /* Nonzero when the current job has been cancelled. Long runs poll it
   * between layers and return WARM_ECANCELED. */
  int (*cancelled)(void *ctx);

  /* The value of a key in this component's [component NAME] section, or NULL
   * when absent. Covers plugin-specific keys. The string lives until
   * destroy(). */
  const char *(*config_get)(void *ctx, const char *key);

  /* ---- added in ABI 1.2 (read only when struct_size covers it) ---- */

  /* WARM_SVC_* bits. */
  uint32_t flags;
} warm_services;

enum {
  /* The instance is made only to answer info() and estimate() (warmd
   * --plan): create() reads headers and configs but no weight data, opens
   * no device (there may be none: a cuda component is planned on a machine
   * without a GPU) and allocates nothing large; place() and run() are never
   * called. */
  WARM_SVC_PLAN_ONLY = 1u << 0,
};

/* 1 when svc asks for a plan-only instance (WARM_SVC_PLAN_ONLY). */
static inline int warm_plan_only(const warm_services *svc) {
  return svc && WARM_HAS_FIELD(svc->struct_size, warm_services, flags) &&
         (svc->flags & WARM_SVC_PLAN_ONLY);
}

/* ---- the component's configuration ----------------------------------------- */

typedef struct warm_kv {
  const char *key;
  const char *value;
} warm_kv;

/* The resolved [component NAME] section. Strings live until destroy(). */
typedef struct warm_component_config {
  uint32_t struct_size;
  const char *name;     /* "text_encoder", "transformer.stage1", ... */
  const char *weights;  /* checkpoint path (file or folder); may be NULL */
  warm_device device;   /* where the component computes */
  warm_placement placement; /* as configured (AUTO allowed) */
  uint32_t stream_window;   /* slots, >= 1 */
  warm_stream_source stream_source;
  warm_dtype dtype;     /* weight storage dtype */
  int32_t priority;     /* higher keeps residency longer under AUTO */
  const warm_kv *keys;  /* plugin-specific keys, in file order */
  uint32_t n_keys;
  /* ---- added in ABI 1.2 ---- */
  /* The directory relative paths in plugin keys resolve against (the
   * config file's); NULL: the working directory. Use warm_config_path. */
  const char *base_dir;
} warm_component_config;

/* A path a plugin key names (e.g. `lora = FILE`), resolved as the host
 * resolves `weights`: an absolute path as is, a relative one against
 * cfg->base_dir when the host gives one. Malloc'd; NULL when out of
 * memory. */
char *warm_config_path(const warm_component_config *cfg, const char *value);

/* ---- placement and estimates ------------------------------------------------ */

/* A concrete placement: never AUTO (the host resolves AUTO first). */
typedef struct warm_place_req {
  warm_placement placement; /* RESIDENT or STREAM */
  uint32_t stream_window;
  warm_stream_source stream_source;
} warm_place_req;

/* The size of one job, for estimates. Zero means "the plugin's default". */
typedef struct warm_job_shape {
  uint32_t max_tokens;              /* text encoder: padded prompt length */
  uint32_t frames, height, width;   /* pixel-space video size */
  uint32_t batch;                   /* e.g. 2 with classifier-free guidance */
} warm_job_shape;

/* Device bytes one run will hold at its peak, by class, for a placement. The
 * host reserves persistent + window + workspace before the run; a run's
 * ledger peak must never exceed it. host_pinned is page-locked host memory. */
typedef struct warm_estimate {
  uint64_t persistent;
  uint64_t window;
  uint64_t workspace;
  uint64_t host_pinned;
} warm_estimate;

/* ---- run ------------------------------------------------------------------ */

/*
 * One call of a component. Inputs are caller-owned host tensors, valid for
 * the call. Outputs: the plugin fills outputs[0..n_outputs) with tensors
 * whose data it allocated with warm_tensor_alloc() (host memory); the caller
 * takes ownership and releases them with warm_tensor_free().
 *
 * By kind:
 *   text_encoder: prompt, max_tokens -> "embeddings" f32 [T, C] (output=last)
 *                 or [L+1, T, C] (output=all), "mask" i32 [T].
 *   transformer:  inputs "latents" f32, "timestep" f32 [B], "embeddings" f32
 *                 [B, T, C], "mask" i32 [B, T] -> "velocity" like "latents".
 *   vae:          inputs "latents" f32 [C, F, H, W] -> "frames" f32
 *                 [3, F', H', W'] in [-1, 1]. A vae with an encoder also
 *                 takes "frames" f32 [3, F, H, W] in [-1, 1] instead ->
 *                 "latents" f32 [C, F', H', W'] (normalised).
 *   upsampler:    (ABI 1.2) inputs "latents" f32 [C, F, H, W] (normalised),
 *                 "latent_mean" and "latent_std" f32 [C] (the video VAE's
 *                 per-channel statistics, from its info()) -> "latents" f32
 *                 [C, F, 2H, 2W] (normalised).
 *   audio_decoder: (ABI 1.2) inputs "latents" f32 [C, T, M] -> "waveform"
 *                 f32 [channels, samples] in [-1, 1] and "sample_rate" i32
 *                 [1] (Hz).
 *   transformer with run_inputs WARM_RUN_AV_TOKENS (ABI 1.2, LTX-2): see
 *                 "two-modality token runs" below.
 */
#define WARM_MAX_IO 8

typedef struct warm_run_args {
  uint32_t struct_size;
  const char *prompt;     /* text encoder; UTF-8 */
  uint32_t max_tokens;    /* text encoder; 0 = plugin default */
  uint32_t n_inputs;
  const warm_tensor *inputs;
  uint32_t n_outputs;     /* set by the plugin */
  warm_tensor outputs[WARM_MAX_IO];
  /* Set by the plugin: the placement this run actually used (RESIDENT or
   * STREAM), and the device bytes it moved through a stream window. */
  warm_placement used_placement;
  uint64_t streamed_bytes;

  /* ---- added in ABI 1.2 (read only when struct_size covers them) ---- */

  /* Perturbed passes of a batched run (see below); NULL/0: none. */
  const struct warm_perturbation *perturbations;
  uint32_t n_perturbations;
  /* A named adapter (a `lora.NAME` key of the component) to apply in this
   * run; NULL or "" runs the base weights. An unknown name is refused. */
  const char *adapter;
} warm_run_args;

/* ---- two-modality token runs (ABI 1.2) ------------------------------------- */

/*
 * A transformer whose info() reports run_inputs = WARM_RUN_AV_TOKENS takes
 * patchified tokens of up to two modalities, video and audio, and computes B
 * passes at once (the guidance passes of one step: conditional, negative,
 * perturbed, isolated), reading the weights once per block for all of them.
 * Pass b of a batch equals a run of that pass alone. Inputs, by name (host
 * f32 unless said; M is "video" or "audio"; a modality is present when its
 * latent is given, and then all five of its tensors are required):
 *
 *   M_latent     [B, N, C]      patchified latent tokens (C = latent_channels
 *                               or audio_latent_channels)
 *   M_timesteps  [B, N]         per-token timestep: sigma times the token's
 *                               denoise mask (0 for clean conditioning
 *                               tokens); tokens may carry different values
 *   M_sigma      [B]            the pass's sigma (cross-modal conditioning)
 *   M_positions  [B, A, N, 2]   per token and axis the [start, end) bounds:
 *                               video A = 3 (time in seconds, y and x in
 *                               pixels), audio A = 1 (time in seconds)
 *   M_context    [B, S, E]      text context (E = embed_dim or
 *                               audio_embed_dim; S may differ per modality)
 *
 * Outputs: "video_velocity" [B, Nv, Cout] and/or "audio_velocity"
 * [B, Na, Cout], one per present modality, in that order.
 */
typedef enum warm_perturb_kind {
  WARM_PERTURB_SKIP_VIDEO_SELF_ATTN = 1, /* video self-attention -> values */
  WARM_PERTURB_SKIP_AUDIO_SELF_ATTN = 2, /* audio self-attention -> values */
  WARM_PERTURB_SKIP_A2V_CROSS_ATTN = 3,  /* drop the audio-to-video add */
  WARM_PERTURB_SKIP_V2A_CROSS_ATTN = 4,  /* drop the video-to-audio add */
} warm_perturb_kind;

/* One perturbation of one pass. A skipped self-attention passes its value
 * projection through (to_v, gate, to_out) instead of attending; a skipped
 * cross-attention leaves the residual stream as it was. */
typedef struct warm_perturbation {
  uint32_t pass;          /* index into the batch, < B */
  warm_perturb_kind kind;
  const uint32_t *blocks; /* block indices it applies to */
  uint32_t n_blocks;      /* 0 (blocks NULL): every block */
} warm_perturbation;

/* ---- model facts (ABI 1.1) ------------------------------------------------------ */

/* What the host needs to know about a model to wire a pipeline: the shapes
 * that flow between components. Zero means "not applicable to this kind". */
typedef struct warm_model_info {
  uint32_t struct_size;          /* sizeof as the caller built it */
  uint32_t embed_dim;            /* text encoder: output width C;
                                    transformer: caption_channels */
  uint32_t latent_channels;      /* transformer and vae */
  uint32_t temporal_compression; /* vae: frames = (F_latent - 1) * tc + 1 */
  uint32_t spatial_compression;  /* vae: pixels per latent cell, each axis */
  uint32_t max_tokens;           /* text encoder: its padded prompt length */
  /* ---- added in ABI 1.2 ---- */
  uint32_t run_inputs;            /* transformer: WARM_RUN_* (0 = latent grid) */
  uint32_t audio_latent_channels; /* WARM_RUN_AV_TOKENS: audio token width;
                                     0 for a video-only model */
  uint32_t audio_embed_dim;       /* WARM_RUN_AV_TOKENS: audio context width */
  uint32_t layers;                /* transformer blocks (perturbation range) */
  /* vae: the per-channel latent statistics [latent_channels] the VAE
   * normalises with (host memory owned by the instance, valid until
   * destroy; NULL when the model has none). The host hands them to the
   * upsampler, so the statistics are read from one file once. */
  const float *latent_mean;
  const float *latent_std;
  /* audio_decoder: output sample rate (Hz) and channels, and the mel
   * width M of its input latents [latent_channels, T, M]. */
  uint32_t sample_rate;
  uint32_t audio_channels;
  uint32_t audio_latent_bins;
  /* transformer: the checkpoint's model version ("2.3.0"), owned by the
   * instance; NULL when the file does not say. The host picks a
   * pipeline's defaults by it. */
  const char *model_version;
} warm_model_info;

/* warm_model_info.run_inputs of a transformer. */
enum {
  WARM_RUN_LATENT_GRID = 0, /* "latents" [B, C, F, H, W] ... (ABI 1.0) */
  WARM_RUN_AV_TOKENS = 1,   /* two-modality token runs (ABI 1.2) */
};

/* ---- the descriptor --------------------------------------------------------- */

typedef struct warm_instance warm_instance; /* the plugin's own type */

typedef struct warm_plugin_desc {
  uint32_t abi_major;   /* WARM_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;   /* WARM_ABI_MINOR the plugin was built with */
  uint32_t struct_size; /* sizeof(warm_plugin_desc) the plugin was built with */
  const char *name;     /* short, [a-z0-9_]+, e.g. "text_encoder_gemma3" */
  const char *version;  /* the plugin's own version, e.g. "1.2.0" */
  warm_kind kind;
  uint32_t devices;     /* WARM_DEVCAP_* */
  uint32_t placements;  /* WARM_PLACE_* bits */
  uint32_t dtypes;      /* WARM_DTYPECAP_* */
  uint32_t flags;       /* WARM_FLAG_* */

  /* Required. Parse cfg (reject unknown plugin keys with a message naming
   * the key), open the weights, allocate nothing on the device yet. The
   * instance is unplaced until place() succeeds. Loader thread. */
  int (*create)(const warm_services *svc, const warm_component_config *cfg,
                warm_instance **out, warm_error *err);

  /* Required. Device bytes for a placement and job size, without
   * allocating. Must be an upper bound of what place()+run() book. */
  int (*estimate)(warm_instance *inst, const warm_place_req *req,
                  const warm_job_shape *shape, warm_estimate *out,
                  warm_error *err);

  /* Required. Make the instance serve in `req`: allocate persistent and
   * window memory, move weights. Called again to change placement (only
   * when WARM_FLAG_LIVE_PLACEMENT is declared, otherwise the host re-creates
   * the instance). On failure the previous placement still serves. */
  int (*place)(warm_instance *inst, const warm_place_req *req,
               warm_error *err);

  /* Required. One call of the component (see warm_run_args). Workspace is
   * allocated and freed inside the call. */
  int (*run)(warm_instance *inst, warm_run_args *args, warm_error *err);

  /* Required. Free everything, device memory included. Never fails. */
  void (*destroy)(warm_instance *inst);

  /* ---- optional (may be NULL; present when struct_size covers them) ---- */

  /* Check cfg and the weights fully (every tensor present, shapes match the
   * model config) without creating an instance or touching the device; used
   * by `warmd -t`. */
  int (*validate)(const warm_services *svc, const warm_component_config *cfg,
                  warm_error *err);

  /* A stable identity of the weights this instance computes with (plugin
   * name+version, weights content or file identity, dtype), as a
   * NUL-terminated hex string of at most 64 chars. Cached outputs are keyed
   * by it. */
  int (*fingerprint)(warm_instance *inst, char out[65], warm_error *err);

  /* ---- added in ABI 1.1 (optional) ---- */

  /* Fills the model facts of a created instance (no device needed). The
   * host zeroes *out and sets out->struct_size before the call; write only
   * fields that struct_size covers. */
  int (*info)(warm_instance *inst, warm_model_info *out, warm_error *err);
} warm_plugin_desc;

typedef const warm_plugin_desc *(*warm_plugin_entry_fn)(void);

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WARM_PLUGIN_H */
