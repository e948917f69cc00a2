/*
 * sdk/src/paths.c — paths named by plugin keys, resolved like `weights`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warm/plugin.h"

char *warm_config_path(const warm_component_config *cfg, const char *value) {
  const char *base =
      cfg && WARM_HAS_FIELD(cfg->struct_size, warm_component_config, base_dir)
          ? cfg->base_dir
          : NULL;
  if (!value) return NULL;
  if (value[0] == '/' || !base || !*base) return strdup(value);
  size_t n = strlen(base) + strlen(value) + 2;
  char *out = malloc(n);
  if (out) snprintf(out, n, "%s/%s", base, value);
  return out;
}
