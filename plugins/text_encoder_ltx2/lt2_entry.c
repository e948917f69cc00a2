/*
 * lt2_entry.c — the one symbol warmd looks up in text_encoder_ltx2.so.
 */
#include "lt2_plugin.h"

WARM_PLUGIN_EXPORT const warm_plugin_desc *warm_plugin_entry(void) {
  return lt2_descriptor();
}
