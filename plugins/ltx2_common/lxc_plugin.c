/* Entry-point scaffolding shared by the LTX-2 decoder plugins. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "lxc.h"

int lxc_check_caps(const warm_component_config *cfg, const char *who,
                   warm_dtype *dt, warm_error *err) {
  *dt = cfg->dtype == WARM_DTYPE_NONE ? WARM_F32 : cfg->dtype;
  if (*dt != WARM_F32 && *dt != WARM_BF16)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: dtype %s is not supported (f32, bf16)", who,
                          warm_dtype_name(*dt) ? warm_dtype_name(*dt) : "?");
  if (cfg->placement == WARM_PLACE_STREAM &&
      cfg->stream_source == WARM_SOURCE_MMAP)
    return warm_error_set(err, WARM_EUNSUPPORTED,
                          "%s: stream_source mmap is not supported (the "
                          "weights are converted into a pinned copy)",
                          who);
  if (!cfg->weights || !cfg->weights[0])
    return warm_error_set(err, WARM_EINVAL, "%s: no weights path", who);
  return 0;
}

int lxc_input_f32(const warm_run_args *a, const char *name, int32_t ndim,
                  int64_t *dims, const float **data, const char *who,
                  warm_error *err) {
  const warm_tensor *t = wpc_input(a, name);
  if (!t)
    return warm_error_set(err, WARM_EINVAL, "%s: input \"%s\" is missing", who,
                          name);
  int off = t->ndim == ndim + 1 ? 1 : 0;
  if (t->dtype != WARM_F32 || !t->data || (t->ndim != ndim && !off) ||
      (off && t->shape[0] != 1) || t->device.type != WARM_DEVICE_CPU)
    return warm_error_set(err, WARM_EINVAL,
                          "%s: input \"%s\" must be a host f32 tensor of %d "
                          "dims (or with a leading batch of 1)",
                          who, name, (int)ndim);
  for (int32_t i = 0; i < ndim; i++) {
    dims[i] = t->shape[off + i];
    if (dims[i] <= 0 || dims[i] > ((int64_t)1 << 24))
      return warm_error_set(err, WARM_EINVAL,
                            "%s: input \"%s\" dim %d is %lld (out of range)",
                            who, name, (int)i, (long long)dims[i]);
  }
  *data = t->data;
  return 0;
}

static void fnv_add(uint64_t h[4], const void *p, size_t n) {
  const unsigned char *b = p;
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < n; i++) {
      h[k] ^= b[i];
      h[k] *= 0x100000001b3ULL;
    }
}

int lxc_fingerprint(const warm_st *st, const lxc_tab *tb, const char *plugin,
                    const char *version, warm_dtype dt, char out[65],
                    const char *who, warm_error *err) {
  uint64_t h[4] = {0xcbf29ce484222325ULL, 0x84222325cbf29ce4ULL,
                   0x9e3779b97f4a7c15ULL, 0x2545f4914f6cdd1dULL};
  fnv_add(h, plugin, strlen(plugin) + 1);
  fnv_add(h, version, strlen(version) + 1);
  fnv_add(h, &dt, sizeof dt);
  for (uint32_t i = 0; i < warm_st_file_count(st); i++) {
    struct stat sb;
    if (stat(warm_st_file_path(st, i), &sb) != 0)
      return warm_error_set(err, WARM_EIO, "%s: cannot stat %s", who,
                            warm_st_file_path(st, i));
    uint64_t id[5] = {(uint64_t)sb.st_dev, (uint64_t)sb.st_ino,
                      (uint64_t)sb.st_size, (uint64_t)sb.st_mtim.tv_sec,
                      (uint64_t)sb.st_mtim.tv_nsec};
    fnv_add(h, id, sizeof id);
  }
  for (int i = 0; i < tb->n; i++)
    fnv_add(h, tb->t[i].name, strlen(tb->t[i].name));
  for (int k = 0; k < 4; k++)
    snprintf(out + 16 * k, 17, "%016llx", (unsigned long long)h[k]);
  return 0;
}

static const char *key_of(const warm_component_config *cfg, const char *key) {
  for (uint32_t i = 0; cfg && i < cfg->n_keys; i++)
    if (cfg->keys[i].key && !strcmp(cfg->keys[i].key, key))
      return cfg->keys[i].value;
  return NULL;
}

int lxc_key_int(const warm_component_config *cfg, const char *key, int64_t lo,
                int64_t hi, int64_t *out, warm_error *err) {
  const char *v = key_of(cfg, key);
  if (!v) return 0;
  char *end = NULL;
  errno = 0;
  long long x = strtoll(v, &end, 10);
  if (errno || end == v || *end || x < lo || x > hi)
    return warm_error_set(err, WARM_EINVAL,
                          "[component %s] %s = \"%s\": expected an integer in "
                          "[%lld, %lld]",
                          cfg->name ? cfg->name : "?", key, v, (long long)lo,
                          (long long)hi);
  *out = x;
  return 0;
}

int lxc_key_bool(const warm_component_config *cfg, const char *key, int *out,
                 warm_error *err) {
  const char *v = key_of(cfg, key);
  if (!v) return 0;
  if (!strcasecmp(v, "true") || !strcasecmp(v, "yes") || !strcmp(v, "1") ||
      !strcasecmp(v, "on"))
    *out = 1;
  else if (!strcasecmp(v, "false") || !strcasecmp(v, "no") || !strcmp(v, "0") ||
           !strcasecmp(v, "off"))
    *out = 0;
  else
    return warm_error_set(err, WARM_EINVAL,
                          "[component %s] %s = \"%s\": expected true or false",
                          cfg->name ? cfg->name : "?", key, v);
  return 0;
}

int lxc_keys_known(const warm_component_config *cfg, const char *const *known,
                   const char *who, warm_error *err) {
  for (uint32_t i = 0; cfg && i < cfg->n_keys; i++) {
    const char *k = cfg->keys[i].key;
    int ok = 0;
    for (int j = 0; k && known[j]; j++)
      ok |= !strcmp(k, known[j]);
    if (!ok) {
      char list[256] = "";
      size_t n = 0;
      for (int j = 0; known[j] && n < sizeof list; j++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", j ? ", " : "",
                              known[j]);
      return warm_error_set(err, WARM_EINVAL,
                            "%s: unknown key \"%s\" in [component %s] "
                            "(known: %s)",
                            who, k ? k : "", cfg->name ? cfg->name : "?", list);
    }
  }
  return 0;
}
