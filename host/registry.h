/*
 * host/registry.h — the plugin registry: which .so files warmd may open and
 * one open handle per file. `plugin = NAME` resolves to plugin_dir/NAME.so
 * (or plugin_dir/NAME when NAME already ends in .so); the real path must lie
 * inside the real plugin_dir, so "../x", absolute paths elsewhere and
 * symlinks pointing out are refused. A .so used by several components is
 * opened once and closed after its last user releases it.
 * Thread-safe: the loop and loader threads may use it at once.
 */
#ifndef WH_REGISTRY_H
#define WH_REGISTRY_H

#include <stddef.h>

#include "warm/loader.h"

typedef struct wh_registry wh_registry;
typedef struct wh_plugin_ref wh_plugin_ref;

int wh_registry_create(wh_registry **out);
/* All references must have been released. */
void wh_registry_destroy(wh_registry *r);

/* The path policy alone: fills `out` (PATH_MAX bytes) with the real path of
 * NAME under plugin_dir, or fails with WARM_EIO (missing) / WARM_EINVAL (a
 * name holding '/': names are files in plugin_dir, never paths). A symbolic
 * link in plugin_dir is followed wherever it points. */
int wh_registry_resolve(const char *plugin_dir, const char *name, char *out,
                        warm_error *err);

/* Resolves and opens (or re-uses) a plugin; the caller owns one reference
 * and gives it back with wh_registry_release. */
int wh_registry_open(wh_registry *r, const char *plugin_dir, const char *name,
                     wh_plugin_ref **out, warm_error *err);
void wh_registry_release(wh_registry *r, wh_plugin_ref *p);

const warm_plugin_desc *wh_plugin_desc(const wh_plugin_ref *p);
const char *wh_plugin_file(const wh_plugin_ref *p); /* real path */
/* The plugin's short name: the file name without directory and ".so". */
const char *wh_plugin_short(const wh_plugin_ref *p);

/* Number of distinct .so files open now (tests). */
size_t wh_registry_open_count(wh_registry *r);

#endif /* WH_REGISTRY_H */
