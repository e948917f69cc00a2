/*
 * g3_plugin.h — the plugin instance and the entry points shared by
 * g3_plugin.c (create/destroy/validate/fingerprint) and g3_place.c
 * (estimate/place/run).
 */
#ifndef G3_PLUGIN_H
#define G3_PLUGIN_H

#include "g3.h"
#include "warm/streamer.h"

struct warm_st;

/* One placement's device state. Zeroed = unplaced. */
typedef struct g3_place_state {
  warm_placement placement; /* 0, RESIDENT or STREAM */
  uint32_t window;
  warm_stream_source source;
  void *embed_dev;         /* resident: the table (persistent) */
  void **layer_dev;        /* resident: [layers] blobs (persistent) */
  warm_streamer *streamer; /* stream */
} g3_place_state;

struct warm_instance {
  const warm_services *svc;
  char *name;
  char *weights_path;
  warm_device dev;
  uint32_t max_tokens;
  int output_all;
  int bf16_act; /* key bf16_activations (wk_set_bf16_activations) */
  wk_dtype wdt;
  g3_config mc;
  struct warm_st *st;
  const char *prefix;
  g3_tok *tok;
  g3_weights w;
  warm_stream_tensor *stensors; /* [layers * G3_T_COUNT] */
  warm_stream_layer *slayers;   /* [layers] */
  wk_ctx *wk;
  void *final_norm_dev; /* persistent, from the first place() */
  g3_place_state cur;
  char fp[65];
};

const warm_plugin_desc *g3_descriptor(void);
void g3_destroy(warm_instance *g);
int g3_fingerprint_compute(warm_instance *g, warm_error *err);
int g3_stream_layers_init(warm_instance *g, warm_error *err);
void g3_place_state_free(warm_instance *g, g3_place_state *s);
int g3_estimate(warm_instance *g, const warm_place_req *req,
                const warm_job_shape *shape, warm_estimate *out,
                warm_error *err);
int g3_place(warm_instance *g, const warm_place_req *req, warm_error *err);
int g3_run(warm_instance *g, warm_run_args *args, warm_error *err);

#endif /* G3_PLUGIN_H */
