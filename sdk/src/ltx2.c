/* LTX-2 combined checkpoints: one mapped safetensors file, its metadata
 * config split into per-component sub-objects, lookups by key prefix. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warm/ltx2.h"
#include "warm/warm.h"

const char *const warm_ltx2_dit_required[] = {"rope_type",
                                              "av_ca_timestep_scale_multiplier",
                                              "frequencies_precision", NULL};
const char *const warm_ltx2_connector_required[] = {
    "rope_type", "frequencies_precision",
    "connector_positional_embedding_max_pos", NULL};
const char *const warm_ltx2_required[] = {
    "rope_type", "av_ca_timestep_scale_multiplier", "frequencies_precision",
    "connector_positional_embedding_max_pos", NULL};

/* One config sub-object, made at open so lookups need no lock. */
typedef struct ltx2_comp {
  char *name;
  warm_config *cfg;
} ltx2_comp;

struct warm_ltx2 {
  warm_st *st;
  char *path;
  char *version;     /* NULL when absent */
  warm_config *root; /* NULL when the file has no config */
  ltx2_comp *comp;
  size_t n_comp;
};

void warm_ltx2_close(warm_ltx2 *f) {
  if (!f) return;
  for (size_t i = 0; i < f->n_comp; i++) {
    free(f->comp[i].name);
    warm_config_close(f->comp[i].cfg);
  }
  free(f->comp);
  warm_config_close(f->root);
  warm_st_close(f->st);
  free(f->path);
  free(f->version);
  free(f);
}

/* Parses the config text and makes a child handle for every top-level key
 * whose value is an object. */
static int ltx2_parse_config(warm_ltx2 *f, const char *text, warm_error *err) {
  char name[4200];
  snprintf(name, sizeof name, "%s: config", f->path);
  int rc = warm_config_parse(text, strlen(text), name, &f->root, err);
  if (rc) return rc;
  json_t *doc = json_loads(text, 0, NULL);
  if (!doc) return warm_error_set(err, WARM_EINTERNAL, "%s: reparse", name);
  size_t n = json_object_size(doc);
  f->comp = calloc(n ? n : 1, sizeof *f->comp);
  if (!f->comp) rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
  const char *key;
  json_t *val;
  json_object_foreach(doc, key, val) {
    if (rc) break;
    if (!json_is_object(val)) continue;
    ltx2_comp *c = &f->comp[f->n_comp];
    c->name = strdup(key);
    if (!c->name) {
      rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
      break;
    }
    f->n_comp++;
    rc = warm_config_child(f->root, key, &c->cfg, err);
  }
  json_decref(doc);
  return rc;
}

int warm_ltx2_from_st(warm_st *st, warm_ltx2 **out, warm_error *err) {
  *out = NULL;
  warm_ltx2 *f = calloc(1, sizeof *f);
  if (!f || !(f->path = strdup(warm_st_path(st)))) {
    free(f);
    warm_st_close(st);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  f->st = st;
  int rc = 0;
  const char *v = warm_st_metadata(f->st, "model_version");
  if (v && !(f->version = strdup(v)))
    rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
  const char *cfg = rc ? NULL : warm_st_metadata(f->st, "config");
  if (cfg) rc = ltx2_parse_config(f, cfg, err);
  if (rc) {
    warm_ltx2_close(f);
    return rc;
  }
  *out = f;
  return 0;
}

int warm_ltx2_open(const char *path, warm_ltx2 **out, warm_error *err) {
  *out = NULL;
  warm_st *st;
  int rc = warm_st_open(path, &st, err);
  return rc ? rc : warm_ltx2_from_st(st, out, err);
}

const warm_st *warm_ltx2_st(const warm_ltx2 *f) {
  return f->st;
}

const char *warm_ltx2_path(const warm_ltx2 *f) {
  return f->path;
}

const char *warm_ltx2_model_version(const warm_ltx2 *f) {
  return f->version;
}

static const ltx2_comp *ltx2_comp_find(const warm_ltx2 *f, const char *name) {
  for (size_t i = 0; i < f->n_comp; i++)
    if (strcmp(f->comp[i].name, name) == 0) return &f->comp[i];
  return NULL;
}

int warm_ltx2_has_config(const warm_ltx2 *f, const char *component) {
  return ltx2_comp_find(f, component) != NULL;
}

size_t warm_ltx2_config_count(const warm_ltx2 *f) {
  return f->n_comp;
}

const char *warm_ltx2_config_name(const warm_ltx2 *f, size_t i) {
  return i < f->n_comp ? f->comp[i].name : NULL;
}

int warm_ltx2_config_root(const warm_ltx2 *f, const warm_config **out,
                          warm_error *err) {
  *out = f->root;
  if (!f->root)
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: __metadata__ has no \"config\" (the model "
                          "config JSON); not an LTX-2 checkpoint?",
                          f->path);
  return 0;
}

int warm_ltx2_config(const warm_ltx2 *f, const char *component,
                     const warm_config **out, warm_error *err) {
  *out = NULL;
  const warm_config *root;
  int rc = warm_ltx2_config_root(f, &root, err);
  if (rc) return rc;
  const ltx2_comp *c = ltx2_comp_find(f, component);
  if (!c) {
    if (warm_config_has(root, component))
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: config.%s is not a JSON object", f->path,
                            component);
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: config.%s is missing (the file's config has no "
                          "%s component)",
                          f->path, component, component);
  }
  *out = c->cfg;
  return 0;
}

int warm_ltx2_require(const warm_ltx2 *f, const char *component,
                      const char *const *keys, warm_error *err) {
  const warm_config *c;
  int rc = warm_ltx2_config(f, component, &c, err);
  if (rc) return rc;
  for (size_t i = 0; keys && keys[i]; i++)
    if (!warm_config_has(c, keys[i]))
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: config.%s.%s is missing; its code default "
                            "gives a different model",
                            f->path, component, keys[i]);
  return 0;
}

/* prefix + name into buf; 0, or WARM_EINVAL when it does not fit. */
static int ltx2_key(char *buf, size_t n, const char *prefix, const char *name) {
  int w = snprintf(buf, n, "%s%s", prefix ? prefix : "", name);
  return w < 0 || (size_t)w >= n ? WARM_EINVAL : 0;
}

const warm_st_entry *warm_ltx2_find(const warm_ltx2 *f, const char *prefix,
                                    const char *name) {
  char key[1024];
  if (ltx2_key(key, sizeof key, prefix, name)) return NULL;
  return warm_st_find(f->st, key);
}

int warm_ltx2_get(const warm_ltx2 *f, const char *prefix, const char *name,
                  int32_t ndim, const int64_t *shape, warm_tensor *out,
                  warm_error *err) {
  char key[1024];
  if (ltx2_key(key, sizeof key, prefix, name))
    return warm_error_set(err, WARM_EINVAL, "%s: tensor name %s%s too long",
                          f->path, prefix ? prefix : "", name);
  return warm_st_expect(f->st, key, ndim, shape, out, err);
}

int warm_ltx2_expect(const warm_ltx2 *f, const char *prefix, const char *name,
                     int32_t ndim, const int64_t *shape, warm_error *err) {
  warm_tensor t;
  return warm_ltx2_get(f, prefix, name, ndim, shape, &t, err);
}

uint64_t warm_ltx2_prefix_bytes(const warm_ltx2 *f, const char *prefix,
                                size_t *count) {
  size_t n = 0, plen = prefix ? strlen(prefix) : 0;
  uint64_t bytes = 0;
  for (size_t i = 0; i < warm_st_count(f->st); i++) {
    const warm_st_entry *e = warm_st_at(f->st, i);
    if (plen && strncmp(e->name, prefix, plen) != 0) continue;
    n++;
    bytes += e->nbytes;
  }
  if (count) *count = n;
  return bytes;
}

const warm_ltx2_part warm_ltx2_parts[] = {
    {WARM_LTX2_DIT, "transformer"},
    {WARM_LTX2_VIDEO_CONNECTOR, "video text connector"},
    {WARM_LTX2_AUDIO_CONNECTOR, "audio text connector"},
    {WARM_LTX2_TEXT_PROJ, "text projection"},
    {WARM_LTX2_VAE_DEC, "video VAE decoder"},
    {WARM_LTX2_VAE_ENC, "video VAE encoder"},
    {WARM_LTX2_VAE_STATS, "video latent statistics"},
    {"audio_vae.decoder.", "audio VAE decoder"},
    {"audio_vae.encoder.", "audio VAE encoder"},
    {"audio_vae.per_channel_statistics.", "audio latent statistics"},
    {WARM_LTX2_VOCODER, "vocoder"},
    {NULL, NULL},
};

uint64_t warm_ltx2_part_bytes(const warm_ltx2 *f, size_t i, size_t *count) {
  uint64_t b = warm_ltx2_prefix_bytes(f, warm_ltx2_parts[i].prefix, count);
  if (i == 0) { /* the transformer row leaves the connectors out */
    size_t nv, na;
    b -= warm_ltx2_prefix_bytes(f, WARM_LTX2_VIDEO_CONNECTOR, &nv);
    b -= warm_ltx2_prefix_bytes(f, WARM_LTX2_AUDIO_CONNECTOR, &na);
    if (count) *count -= nv + na;
  }
  return b;
}
