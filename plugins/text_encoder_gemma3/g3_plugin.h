/*
 * g3_plugin.h — the Gemma-3 text encoder plugin instance: the shared engine
 * (plugins/gemma3_core) plus this plugin's keys and fingerprint.
 */
#ifndef G3_PLUGIN_H
#define G3_PLUGIN_H

#include "g3.h"
#include "g3_model.h"

struct warm_instance {
  g3_model m;
  char *name;
  uint32_t max_tokens;
  int output_all;
  int bf16_act; /* bf16_activations, resolved: activations rounded to bf16 */
  char fp[65];
};

const warm_plugin_desc *g3_descriptor(void);

#endif /* G3_PLUGIN_H */
