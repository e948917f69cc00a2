/*
 * host/config.h — the warmd configuration: an INI file parsed by inih into an
 * immutable wh_config. A config is built whole, checked, and only then used;
 * a running daemon swaps one config for another on reload and never edits
 * one in place.
 *
 * Every problem found is collected (not just the first) as a
 * "FILE:LINE: message" string in the config's error list. Parsing checks
 * syntax, known sections and keys, value formats and cross-references
 * (pipeline names); what needs plugins (capabilities, estimates, budgets) is
 * checked later by reload.c, which appends to the same list.
 */
#ifndef WH_CONFIG_H
#define WH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "warm/warm.h"

#define WH_PIPELINE_MAX_STAGES 8

/* A key = value with the line it came from (values are trimmed copies). */
typedef struct wh_cfg_kv {
  char *key;
  char *value;
  int line;
} wh_cfg_kv;

typedef struct wh_cfg_device {
  char *name; /* "cpu", "cuda:0" — normalised */
  warm_device dev;
  uint64_t budget; /* resolved: explicit, or capacity - reserve */
  uint64_t reserve;
  int budget_set; /* 1 when the file gave budget */
  int line;       /* line of the section header */
  int budget_line, reserve_line;
  int threads; /* cpu: compute pool workers, 0 = all usable cores */
  int threads_line;
  int implicit; /* 1 when no section named it (a component did) */
} wh_cfg_device;

typedef struct wh_cfg_component {
  char *name;
  char *plugin;  /* as written: NAME or NAME.so */
  char *weights; /* resolved against the file's directory; may be NULL */
  char *device_name;
  warm_device device;
  warm_placement placement;
  uint32_t stream_window;
  warm_stream_source stream_source;
  warm_dtype dtype;
  int32_t priority;
  int line; /* section header */
  /* Lines of the keys, for errors found later (0 = key absent). */
  int plugin_line, weights_line, device_line, placement_line, window_line,
      source_line, dtype_line, priority_line;
  wh_cfg_kv *all; /* every key of the section, file order */
  size_t n_all;
  warm_kv *plugin_keys; /* the non-standard keys, pointing into `all` */
  size_t n_plugin_keys;
} wh_cfg_component;

typedef enum wh_pipe_type {
  WH_PIPE_LTXV = 0,        /* LTX-Video: encoder, stages, decoder */
  WH_PIPE_LTX2,            /* LTX-2 two stages: guided, then refined */
  WH_PIPE_LTX2_DISTILLED,  /* LTX-2 distilled: two unguided stages */
  WH_PIPE_LTX2_ONE_STAGE,  /* LTX-2 guided stage 1 at full size */
} wh_pipe_type;

typedef struct wh_cfg_pipeline {
  int present;
  wh_pipe_type type;
  char *encoder, *decoder;
  char *stages[WH_PIPELINE_MAX_STAGES];
  /* The adapter of stage i ("transformer+distilled" -> "distilled"), or
   * NULL: the component's `lora.NAME` applied in that stage's runs. */
  char *stage_adapters[WH_PIPELINE_MAX_STAGES];
  /* ltx2_distilled written with one stage is stored as two equal stages,
   * so every LTX-2 two-stage type has exactly two here. */
  size_t n_stages;
  char *upsampler;     /* LTX-2 two-stage: the latent upsampler */
  char *audio_decoder; /* LTX-2: optional; without it the job is silent */
  int y4m;             /* also write video.y4m (ltxv: on; LTX-2: off) */
  /* LTX-2: the STG blocks of both modalities when a job names none
   * (n_stg_blocks 0 with stg_blocks_line 0: the checkpoint version's). */
  uint32_t stg_blocks[64];
  uint32_t n_stg_blocks;
  int stg_blocks_line;
  /* Job defaults. ltxv: the file's or 9 x 64 x 64, 8 steps, 24 fps,
   * guidance 3. LTX-2 types: the file's, else 0 with the key's line 0 (the
   * runner takes the checkpoint version's defaults). */
  uint32_t frames, height, width, steps;
  double fps, guidance;
  int line, encoder_line, stages_line, decoder_line, type_line,
      upsampler_line, audio_decoder_line, y4m_line;
  int frames_line, height_line, width_line, steps_line, fps_line,
      guidance_line; /* 0 = absent */
} wh_cfg_pipeline;

typedef struct wh_config {
  int refs;   /* wh_config_ref / wh_config_free; atomic */
  char *path; /* as given */
  char *dir;  /* directory relative paths resolve against */
  /* [host] */
  char *plugin_dir;
  char *admin_socket;
  unsigned admin_socket_mode;
  char *stats_socket; /* NULL = none */
  unsigned stats_socket_mode; /* default 0660: owner and group */
  uint64_t memory_budget; /* host ledger budget; 0 = physical RAM */
  int memory_budget_line;
  char *output_dir;
  int log_level; /* WARM_LOG_* */
  int plugin_dir_line, admin_socket_line, admin_socket_mode_line,
      stats_socket_line, output_dir_line, log_level_line,
      stats_socket_mode_line;
  /* [host] HTTP data plane (read when warmd starts; see docs/http.md). */
  char *http_listen;       /* "ADDR:PORT", NULL = no HTTP */
  uint64_t max_body;       /* request body limit, bytes */
  uint32_t max_queue;      /* queued jobs at most */
  double shutdown_timeout; /* seconds jobs may take after SIGTERM */
  int http_listen_line, max_body_line, max_queue_line, shutdown_timeout_line;
  /* [host] operations keys (config_ops.c). */
  int log_format;                 /* WH_LOG_TEXT / WH_LOG_JSON */
  char *api_keys_file;            /* NULL: the HTTP API is open */
  struct wh_auth_keys *api_keys;  /* read from api_keys_file */
  int auth_exempt_metrics;        /* /metrics needs no token */
  char *instance_id;              /* prefix of job ids; NULL: none */
  double job_retention;           /* seconds a finished job is kept; 0: ever */
  uint32_t jobs_kept;             /* finished jobs kept at most; 0: no cap */
  int log_format_line, api_keys_file_line, auth_exempt_metrics_line,
      instance_id_line, job_retention_line, jobs_kept_line;
  /* [device ...] */
  wh_cfg_device *devices;
  size_t n_devices;
  /* [cache] */
  uint64_t cache_embeddings;
  /* [component ...] in file order */
  wh_cfg_component *components;
  size_t n_components;
  wh_cfg_pipeline pipeline;
  /* Collected "FILE:LINE: message" strings; n_errors > 0 = unusable. */
  char **errors;
  int *error_lines; /* line of each error (0 = whole file) */
  size_t n_errors;
} wh_config;

/* Parses the file at path. Returns 0 and a config (possibly with errors in
 * it: check n_errors), or a negative code when not even that was possible
 * (out of memory). The caller owns *out and frees it with wh_config_free. */
int wh_config_load(const char *path, wh_config **out);

/* The same over a buffer; `path` is only used in messages and to resolve
 * relative paths. The buffer need not be NUL-terminated. */
int wh_config_parse(const char *path, const char *buf, size_t len,
                    wh_config **out);

/* Configs are shared read-only: a component keeps a reference to the config
 * it was created from, because its plugin holds strings from it. */
wh_config *wh_config_ref(wh_config *c);
/* Drops one reference; the last one frees. NULL is fine. */
void wh_config_free(wh_config *c);

/* Appends "PATH:LINE: msg" (line 0: "PATH: msg") to c->errors. */
void wh_config_error(wh_config *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Orders the errors by line (stable), so a report reads top to bottom. */
void wh_config_sort_errors(wh_config *c);

const wh_cfg_component *wh_config_component(const wh_config *c,
                                            const char *name);
const wh_cfg_device *wh_config_device(const wh_config *c, const char *name);
/* The value of a key of a component section, or NULL. */
const char *wh_cfg_component_get(const wh_cfg_component *cc, const char *key);

/* Renders the config as normalised INI text (resolved values, defaults
 * filled in); the caller frees the string. NULL on allocation failure. */
char *wh_config_render(const wh_config *c);
/* The same as a jansson object (json_t *); the caller owns the reference. */
struct json_t;
struct json_t *wh_config_json(const wh_config *c);

/* The operations keys of [host] (config_ops.c): 1 when k is one of them
 * (handled, errors recorded at line), 0 otherwise. */
int wh_config_ops_key(wh_config *c, int line, const char *k, const char *v);
/* After the whole file: reads api_keys_file. */
void wh_config_ops_finish(wh_config *c);
void wh_config_ops_free(wh_config *c);
/* 1 when s is a valid instance_id (1-63 of a-z 0-9 _ -). */
int wh_instance_id_valid(const char *s);

/* The [pipeline] section (config_pipeline.c): one key (errors recorded at
 * line); 0 or WARM_ENOMEM. */
int wh_config_pipeline_key(wh_config *c, int line, const char *k,
                           const char *v);
/* After the whole file: the type's required and refused keys, references
 * to components and adapters, and the defaults. 0 or WARM_ENOMEM. */
int wh_config_pipeline_finish(wh_config *c);
/* "ltxv", "ltx2", "ltx2_distilled", "ltx2_one_stage". */
const char *wh_pipe_type_name(wh_pipe_type t);
/* 1 for the LTX-2 types. */
int wh_pipe_type_is_ltx2(wh_pipe_type t);

/* Value parsers of the config files: 0, or -1 when v is not a number in
 * [lo, hi] (whole, unsigned, for u32). */
int wh_cfg_parse_u32(const char *v, uint32_t lo, uint32_t hi, uint32_t *out);
int wh_cfg_parse_double(const char *v, double lo, double hi, double *out);
/* A section name: 1..64 of [A-Za-z0-9_.-]. */
int wh_cfg_name_valid(const char *n);

/* Physical RAM in bytes (sysconf), used for the cpu default budget. */
uint64_t wh_physical_ram(void);

#endif /* WH_CONFIG_H */
