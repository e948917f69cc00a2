/*
 * g3_entry.c — the one symbol warmd looks up in text_encoder_gemma3.so.
 */
#include "g3_plugin.h"

WARM_PLUGIN_EXPORT const warm_plugin_desc *warm_plugin_entry(void) {
  return g3_descriptor();
}
