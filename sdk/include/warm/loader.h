/*
 * warm/loader.h — opening plugin shared objects and checking descriptors.
 * Used by warmd's registry and by warm-plugin-check, so a plugin is judged the
 * same way by both.
 */
#ifndef WARM_LOADER_H
#define WARM_LOADER_H

#include "warm/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif
/* What libwarm exports (it builds with hidden visibility by default). */
#pragma GCC visibility push(default)

typedef struct warm_plugin warm_plugin;

/* dlopen(path, RTLD_NOW | RTLD_LOCAL), resolve WARM_PLUGIN_ENTRY_NAME, call
 * it and check the descriptor (warm_plugin_check_desc). On failure nothing
 * stays open and err names the file and the reason (for an ABI mismatch, both
 * versions). The caller owns *out and closes it with warm_plugin_close. */
int warm_plugin_open(const char *path, warm_plugin **out, warm_error *err);
void warm_plugin_close(warm_plugin *p);
const warm_plugin_desc *warm_plugin_descriptor(const warm_plugin *p);
const char *warm_plugin_path(const warm_plugin *p);

/* Checks a descriptor against this SDK's ABI: same major, minor not newer,
 * struct_size large enough for the required 1.0 fields, name/version set,
 * known kind, non-empty capability sets, required entry points non-NULL.
 * `where` (a path) prefixes the message. */
int warm_plugin_check_desc(const warm_plugin_desc *d, const char *where,
                           warm_error *err);

/* Optional entry points, NULL when the plugin's struct_size does not cover
 * them or the plugin left them NULL. */
#define WARM_DESC_OPT(d, field)                                                \
  (WARM_HAS_FIELD((d)->struct_size, warm_plugin_desc, field) ? (d)->field      \
                                                              : NULL)

#pragma GCC visibility pop
#ifdef __cplusplus
}
#endif
#endif /* WARM_LOADER_H */
