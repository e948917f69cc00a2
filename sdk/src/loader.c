/* Opening plugin shared objects and judging their descriptors. warmd's
 * registry and warm-plugin-check both come through here, so a plugin is
 * accepted or refused the same way by both. */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "warm/loader.h"
#include "warm/warm.h"

struct warm_plugin {
  void *handle;
  const warm_plugin_desc *desc;
  char *path;
};

/* Bytes of warm_plugin_desc every 1.x plugin must provide: up to destroy. */
#define DESC_REQUIRED_SIZE                                                     \
  (offsetof(warm_plugin_desc, destroy) +                                       \
   sizeof(((warm_plugin_desc *)0)->destroy))

static int name_ok(const char *s) {
  if (!s || !*s || strlen(s) > 64) return 0;
  for (const char *p = s; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
      return 0;
  return 1;
}

/* Order matters: only abi_major, abi_minor and struct_size may be read from a
 * descriptor of another major, so those are judged first. */
int warm_plugin_check_desc(const warm_plugin_desc *d, const char *where,
                           warm_error *err) {
  const char *w = where ? where : "plugin";
  if (!d)
    return warm_error_set(err, WARM_EABI,
                          "%s: the entry function returned no descriptor", w);
  if (d->abi_major != WARM_ABI_MAJOR)
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin built for ABI %u.%u, this host speaks "
                          "%d.%d (a different major is incompatible)",
                          w, d->abi_major, d->abi_minor, WARM_ABI_MAJOR,
                          WARM_ABI_MINOR);
  if (d->abi_minor > WARM_ABI_MINOR)
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin built for ABI %u.%u, this host speaks "
                          "%d.%d (a newer minor may need what this host lacks)",
                          w, d->abi_major, d->abi_minor, WARM_ABI_MAJOR,
                          WARM_ABI_MINOR);
  if (d->struct_size < DESC_REQUIRED_SIZE)
    return warm_error_set(err, WARM_EABI,
                          "%s: descriptor struct_size %u is smaller than the "
                          "%zu bytes every ABI %d.x descriptor has",
                          w, d->struct_size, (size_t)DESC_REQUIRED_SIZE,
                          WARM_ABI_MAJOR);
  if (!name_ok(d->name))
    return warm_error_set(err, WARM_EABI,
                          "%s: descriptor name must be 1-64 chars of "
                          "[a-z0-9_]",
                          w);
  if (!d->version || !*d->version)
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin '%s' has no version string", w, d->name);
  if (d->kind != WARM_KIND_TEXT_ENCODER && d->kind != WARM_KIND_TRANSFORMER &&
      d->kind != WARM_KIND_VAE && d->kind != WARM_KIND_UPSAMPLER &&
      d->kind != WARM_KIND_AUDIO_DECODER)
    return warm_error_set(err, WARM_EABI, "%s: plugin '%s' has unknown kind %d",
                          w, d->name, (int)d->kind);
  if ((d->kind == WARM_KIND_UPSAMPLER || d->kind == WARM_KIND_AUDIO_DECODER) &&
      d->abi_minor < 2)
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin '%s' declares kind %s, which ABI %u.%u "
                          "does not have (added in 1.2)",
                          w, d->name, warm_kind_name(d->kind), d->abi_major,
                          d->abi_minor);
  const uint32_t devs = WARM_DEVCAP_CPU | WARM_DEVCAP_CUDA;
  const uint32_t places =
      WARM_PLACE_RESIDENT | WARM_PLACE_STREAM | WARM_PLACE_AUTO;
  const uint32_t dts =
      WARM_DTYPECAP_F32 | WARM_DTYPECAP_BF16 | WARM_DTYPECAP_FP8;
  if (!d->devices || (d->devices & ~devs))
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin '%s' declares devices 0x%x (need a "
                          "non-empty subset of cpu|cuda)",
                          w, d->name, d->devices);
  if (!d->placements || (d->placements & ~places))
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin '%s' declares placements 0x%x (need a "
                          "non-empty subset of resident|stream|auto)",
                          w, d->name, d->placements);
  if ((d->placements & WARM_PLACE_AUTO) &&
      (d->placements & (WARM_PLACE_RESIDENT | WARM_PLACE_STREAM)) !=
          (WARM_PLACE_RESIDENT | WARM_PLACE_STREAM))
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin '%s' declares auto placement without "
                          "both resident and stream",
                          w, d->name);
  if (!d->dtypes || (d->dtypes & ~dts))
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin '%s' declares dtypes 0x%x (need a "
                          "non-empty subset of f32|bf16|fp8)",
                          w, d->name, d->dtypes);
  if (d->flags & ~(uint32_t)WARM_FLAG_LIVE_PLACEMENT)
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin '%s' sets unknown flags 0x%x", w, d->name,
                          d->flags & ~(uint32_t)WARM_FLAG_LIVE_PLACEMENT);
  const char *missing = !d->create     ? "create"
                        : !d->estimate ? "estimate"
                        : !d->place    ? "place"
                        : !d->run      ? "run"
                        : !d->destroy  ? "destroy"
                                       : NULL;
  if (missing)
    return warm_error_set(err, WARM_EABI,
                          "%s: plugin '%s' has no %s entry point (required)", w,
                          d->name, missing);
  return WARM_OK;
}

/* A path without a slash is opened as "./path" so dlopen never searches the
 * system library path for a plugin. */
int warm_plugin_open(const char *path, warm_plugin **out, warm_error *err) {
  if (!path || !*path || !out)
    return warm_error_set(err, WARM_EINVAL, "plugin: no path given");
  *out = NULL;
  char *dl_path = NULL;
  if (!strchr(path, '/')) {
    size_t n = strlen(path) + 3;
    dl_path = malloc(n);
    if (!dl_path)
      return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", path);
    memcpy(dl_path, "./", 2);
    memcpy(dl_path + 2, path, n - 2);
  }
  dlerror();
  void *h = dlopen(dl_path ? dl_path : path, RTLD_NOW | RTLD_LOCAL);
  free(dl_path);
  if (!h) {
    const char *why = dlerror();
    return warm_error_set(err, WARM_EIO,
                          "%s: cannot load as a shared object: %s", path,
                          why ? why : "unknown dlopen error");
  }
  dlerror();
  void *sym = dlsym(h, WARM_PLUGIN_ENTRY_NAME);
  if (!sym) {
    dlclose(h);
    return warm_error_set(err, WARM_EABI,
                          "%s: not a warmd plugin: it exports no %s() "
                          "function",
                          path, WARM_PLUGIN_ENTRY_NAME);
  }
  warm_plugin_entry_fn entry;
  /* POSIX guarantees a function pointer round-trips through dlsym's void*. */
  memcpy(&entry, &sym, sizeof entry);
  const warm_plugin_desc *d = entry();
  int rc = warm_plugin_check_desc(d, path, err);
  if (rc != WARM_OK) {
    dlclose(h);
    return rc;
  }
  warm_plugin *p = calloc(1, sizeof *p);
  char *pc = strdup(path);
  if (!p || !pc) {
    free(p);
    free(pc);
    dlclose(h);
    return warm_error_set(err, WARM_ENOMEM, "%s: out of memory", path);
  }
  p->handle = h;
  p->desc = d;
  p->path = pc;
  *out = p;
  return WARM_OK;
}

void warm_plugin_close(warm_plugin *p) {
  if (!p) return;
  dlclose(p->handle);
  free(p->path);
  free(p);
}

const warm_plugin_desc *warm_plugin_descriptor(const warm_plugin *p) {
  return p ? p->desc : NULL;
}

const char *warm_plugin_path(const warm_plugin *p) {
  return p ? p->path : NULL;
}
