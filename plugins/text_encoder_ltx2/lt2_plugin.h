/*
 * lt2_plugin.h — the LTX-2 text encoder instance, shared by lt2_plugin.c
 * (create, validate, fingerprint, info, run) and lt2_place.c (estimate and
 * placement of the text-side weights).
 */
#ifndef LT2_PLUGIN_H
#define LT2_PLUGIN_H

#include "lt2.h"

/* The text layers' device state. Zeroed = unplaced. */
typedef struct lt2_place_state {
  warm_placement placement;
  uint32_t window;
  warm_stream_source source;
  void **blob; /* resident: [n_layers] (persistent) */
  warm_streamer *streamer;
} lt2_place_state;

struct warm_instance {
  g3_model m; /* Gemma-3 */
  char *name;
  char *ltx_path;
  uint32_t max_tokens;
  int bf16_act; /* bf16_activations, resolved: activations rounded to bf16 */
  warm_ltx2 *lf;
  lt2_config c;
  lt2_weights w;
  uint64_t *off;                /* [n_layers * LT2_B_COUNT] in a blob */
  uint64_t *blob_bytes;         /* [n_layers] */
  warm_stream_tensor *stensors; /* [n_layers * LT2_B_COUNT] */
  warm_stream_layer *slayers;   /* [n_layers] */
  lt2_place_state cur;
  char fp[65];
};

const warm_plugin_desc *lt2_descriptor(void);

int lt2_layout_init(warm_instance *g, warm_error *err);
int lt2_estimate(warm_instance *g, const warm_place_req *req,
                 const warm_job_shape *shape, warm_estimate *out,
                 warm_error *err);
int lt2_place(warm_instance *g, const warm_place_req *req, warm_error *err);
void lt2_unplace(warm_instance *g);
/* Device pointers of text layer i: from its resident blob, or acquired
 * from the streamer (release with lt2_layer_release). */
int lt2_layer_acquire(warm_instance *g, uint32_t i, lt2_view *v,
                      warm_error *err);
int lt2_layer_release(warm_instance *g, uint32_t i, warm_error *err);
/* Workspace bytes of one run on T tokens (beyond the Gemma share). */
uint64_t lt2_run_workspace(warm_instance *g, int64_t T, uint64_t gemma_ws);

#endif /* LT2_PLUGIN_H */
