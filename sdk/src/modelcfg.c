/* config.json reading (typed getters over dotted key paths) and host-side
 * weight dtype conversion. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "warm/model.h"
#include "warm/warm.h"
#include "wk.h"

/* Handles share one refcounted document; each has its own root and a key
 * prefix for messages ("text_config."). */
struct warm_config {
  json_t *doc;  /* the whole document (owned reference) */
  json_t *root; /* borrowed from doc */
  char *file;
  char *prefix;
};

static warm_config *cfg_new(json_t *doc, json_t *root, const char *file,
                            const char *prefix) {
  warm_config *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->file = strdup(file);
  c->prefix = strdup(prefix);
  if (!c->file || !c->prefix) {
    free(c->file);
    free(c->prefix);
    free(c);
    return NULL;
  }
  c->doc = json_incref(doc);
  c->root = root;
  return c;
}

int warm_config_parse(const char *text, size_t len, const char *name,
                      warm_config **out, warm_error *err) {
  *out = NULL;
  json_error_t jerr;
  json_t *doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
  if (!doc)
    return warm_error_set(err, WARM_EFORMAT, "%s: line %d: %s", name, jerr.line,
                          jerr.text);
  if (!json_is_object(doc)) {
    json_decref(doc);
    return warm_error_set(err, WARM_EFORMAT, "%s: not a JSON object", name);
  }
  *out = cfg_new(doc, doc, name, "");
  json_decref(doc);
  return *out ? 0 : warm_error_set(err, WARM_ENOMEM, "out of memory");
}

int warm_config_open(const char *path, warm_config **out, warm_error *err) {
  *out = NULL;
  char file[4096];
  struct stat sb;
  if (stat(path, &sb) != 0)
    return warm_error_set(err, WARM_EIO, "%s: %s", path, strerror(errno));
  if (S_ISDIR(sb.st_mode))
    snprintf(file, sizeof file, "%s/config.json", path);
  else
    snprintf(file, sizeof file, "%s", path);
  if (stat(file, &sb) != 0)
    return warm_error_set(err, WARM_EIO, "%s: %s", file, strerror(errno));
  if (!S_ISREG(sb.st_mode)) /* a FIFO would block the read */
    return warm_error_set(err, WARM_EIO, "%s: not a regular file", file);
  FILE *f = fopen(file, "rb");
  if (!f) return warm_error_set(err, WARM_EIO, "%s: %s", file, strerror(errno));
  char *buf = NULL;
  size_t len = 0, cap = 0;
  int rc = 0;
  for (;;) {
    if (len == cap) {
      cap = cap ? cap * 2 : 65536;
      if (cap > (64u << 20)) {
        rc = warm_error_set(err, WARM_EFORMAT, "%s: larger than 64 MiB", file);
        break;
      }
      char *nb = realloc(buf, cap);
      if (!nb) {
        rc = warm_error_set(err, WARM_ENOMEM, "out of memory");
        break;
      }
      buf = nb;
    }
    size_t r = fread(buf + len, 1, cap - len, f);
    len += r;
    if (r == 0) {
      if (ferror(f)) rc = warm_error_set(err, WARM_EIO, "%s: read error", file);
      break;
    }
  }
  fclose(f);
  if (!rc) rc = warm_config_parse(buf, len, file, out, err);
  free(buf);
  return rc;
}

/* Follows a dotted path from root; NULL when some part is absent. A part
 * of digits indexes an array ("decoder_blocks.2.1.num_layers"). */
static json_t *cfg_lookup(const warm_config *c, const char *key) {
  json_t *j = c->root;
  const char *p = key;
  while (j && *p) {
    const char *dot = strchr(p, '.');
    size_t n = dot ? (size_t)(dot - p) : strlen(p);
    if (json_is_array(j) && n > 0 && n < 10 && strspn(p, "0123456789") >= n) {
      j = json_array_get(j, (size_t)strtoul(p, NULL, 10));
      p += n;
      if (*p == '.') p++;
      continue;
    }
    if (!json_is_object(j)) return NULL;
    j = json_object_getn(j, p, n);
    p += n;
    if (*p == '.') p++;
  }
  return j;
}

static const char *cfg_type(const json_t *j) {
  switch (json_typeof(j)) {
  case JSON_OBJECT:
    return "an object";
  case JSON_ARRAY:
    return "an array";
  case JSON_STRING:
    return "a string";
  case JSON_INTEGER:
    return "an integer";
  case JSON_REAL:
    return "a number";
  case JSON_TRUE:
  case JSON_FALSE:
    return "a boolean";
  default:
    return "null";
  }
}

static int cfg_missing(const warm_config *c, const char *key, warm_error *err) {
  return warm_error_set(err, WARM_EFORMAT, "%s: %s%s: missing", c->file,
                        c->prefix, key);
}

static int cfg_wrong(const warm_config *c, const char *key, const char *want,
                     const json_t *j, warm_error *err) {
  return warm_error_set(err, WARM_EFORMAT, "%s: %s%s: expected %s, found %s",
                        c->file, c->prefix, key, want, cfg_type(j));
}

int warm_config_child(const warm_config *c, const char *key, warm_config **out,
                      warm_error *err) {
  *out = NULL;
  json_t *j = cfg_lookup(c, key);
  if (!j || json_is_null(j)) return cfg_missing(c, key, err);
  if (!json_is_object(j)) return cfg_wrong(c, key, "an object", j, err);
  char prefix[512];
  snprintf(prefix, sizeof prefix, "%s%s.", c->prefix, key);
  *out = cfg_new(c->doc, j, c->file, prefix);
  return *out ? 0 : warm_error_set(err, WARM_ENOMEM, "out of memory");
}

int warm_config_text(const warm_config *c, warm_config **out, warm_error *err) {
  if (warm_config_has(c, "text_config"))
    return warm_config_child(c, "text_config", out, err);
  *out = cfg_new(c->doc, c->root, c->file, c->prefix);
  return *out ? 0 : warm_error_set(err, WARM_ENOMEM, "out of memory");
}

void warm_config_close(warm_config *c) {
  if (!c) return;
  json_decref(c->doc);
  free(c->file);
  free(c->prefix);
  free(c);
}

const char *warm_config_file(const warm_config *c) {
  return c->file;
}

int warm_config_has(const warm_config *c, const char *key) {
  json_t *j = cfg_lookup(c, key);
  return j && !json_is_null(j);
}

static int cfg_to_int(const json_t *j, int64_t *out) {
  if (json_is_integer(j)) {
    *out = json_integer_value(j);
    return 0;
  }
  if (json_is_real(j)) {
    double d = json_real_value(j);
    if (d == floor(d) && fabs(d) < 9.0e18) {
      *out = (int64_t)d;
      return 0;
    }
  }
  return -1;
}

int warm_config_int(const warm_config *c, const char *key, int64_t *out,
                    warm_error *err) {
  json_t *j = cfg_lookup(c, key);
  if (!j || json_is_null(j)) return cfg_missing(c, key, err);
  if (cfg_to_int(j, out)) return cfg_wrong(c, key, "an integer", j, err);
  return 0;
}

int warm_config_int_or(const warm_config *c, const char *key, int64_t def,
                       int64_t *out, warm_error *err) {
  if (!warm_config_has(c, key)) {
    *out = def;
    return 0;
  }
  return warm_config_int(c, key, out, err);
}

int warm_config_float(const warm_config *c, const char *key, double *out,
                      warm_error *err) {
  json_t *j = cfg_lookup(c, key);
  if (!j || json_is_null(j)) return cfg_missing(c, key, err);
  if (!json_is_number(j)) return cfg_wrong(c, key, "a number", j, err);
  *out = json_number_value(j);
  return 0;
}

int warm_config_float_or(const warm_config *c, const char *key, double def,
                         double *out, warm_error *err) {
  if (!warm_config_has(c, key)) {
    *out = def;
    return 0;
  }
  return warm_config_float(c, key, out, err);
}

int warm_config_bool_or(const warm_config *c, const char *key, int def,
                        int *out, warm_error *err) {
  json_t *j = cfg_lookup(c, key);
  if (!j || json_is_null(j)) {
    *out = def;
    return 0;
  }
  if (!json_is_boolean(j)) return cfg_wrong(c, key, "a boolean", j, err);
  *out = json_is_true(j);
  return 0;
}

int warm_config_string(const warm_config *c, const char *key, const char **out,
                       warm_error *err) {
  json_t *j = cfg_lookup(c, key);
  if (!j || json_is_null(j)) return cfg_missing(c, key, err);
  if (!json_is_string(j)) return cfg_wrong(c, key, "a string", j, err);
  *out = json_string_value(j);
  return 0;
}

int warm_config_string_or(const warm_config *c, const char *key,
                          const char *def, const char **out, warm_error *err) {
  if (!warm_config_has(c, key)) {
    *out = def;
    return 0;
  }
  return warm_config_string(c, key, out, err);
}

static int cfg_array(const warm_config *c, const char *key, json_t **out,
                     warm_error *err) {
  json_t *j = cfg_lookup(c, key);
  if (!j || json_is_null(j)) return cfg_missing(c, key, err);
  if (!json_is_array(j)) return cfg_wrong(c, key, "an array", j, err);
  *out = j;
  return 0;
}

int warm_config_array_len(const warm_config *c, const char *key, size_t *out,
                          warm_error *err) {
  json_t *a = NULL;
  int rc = cfg_array(c, key, &a, err);
  if (!rc) *out = json_array_size(a);
  return rc;
}

/* Element i of array `key`, or an error naming key[i]. */
static int cfg_elem(const warm_config *c, const char *key, size_t i,
                    json_t **out, warm_error *err) {
  json_t *a = NULL;
  int rc = cfg_array(c, key, &a, err);
  if (rc) return rc;
  if (i >= json_array_size(a))
    return warm_error_set(err, WARM_EFORMAT,
                          "%s: %s%s[%zu]: missing (array of %zu)", c->file,
                          c->prefix, key, i, json_array_size(a));
  *out = json_array_get(a, i);
  return 0;
}

static int cfg_elem_wrong(const warm_config *c, const char *key, size_t i,
                          const char *want, const json_t *j, warm_error *err) {
  return warm_error_set(err, WARM_EFORMAT,
                        "%s: %s%s[%zu]: expected %s, found %s", c->file,
                        c->prefix, key, i, want, cfg_type(j));
}

int warm_config_int_at(const warm_config *c, const char *key, size_t i,
                       int64_t *out, warm_error *err) {
  json_t *j;
  int rc = cfg_elem(c, key, i, &j, err);
  if (rc) return rc;
  if (cfg_to_int(j, out))
    return cfg_elem_wrong(c, key, i, "an integer", j, err);
  return 0;
}

int warm_config_float_at(const warm_config *c, const char *key, size_t i,
                         double *out, warm_error *err) {
  json_t *j;
  int rc = cfg_elem(c, key, i, &j, err);
  if (rc) return rc;
  if (!json_is_number(j)) return cfg_elem_wrong(c, key, i, "a number", j, err);
  *out = json_number_value(j);
  return 0;
}

int warm_config_string_at(const warm_config *c, const char *key, size_t i,
                          const char **out, warm_error *err) {
  json_t *j;
  int rc = cfg_elem(c, key, i, &j, err);
  if (rc) return rc;
  if (!json_is_string(j)) return cfg_elem_wrong(c, key, i, "a string", j, err);
  *out = json_string_value(j);
  return 0;
}

/* ---- weight dtype conversion ------------------------------------------- */

size_t warm_weight_bytes(warm_dtype dt, uint64_t n) {
  size_t es = warm_dtype_size(dt);
  uint64_t b;
  if (!es || __builtin_mul_overflow(n, (uint64_t)es, &b) || b > SIZE_MAX)
    return 0;
  return (size_t)b;
}

/* IEEE half to float; exact. */
static float cvt_f16(uint16_t h) {
  uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 31,
           man = h & 1023u, bits;
  if (exp == 0) {
    if (man == 0) {
      bits = sign;
    } else { /* subnormal: normalise */
      int e = -1;
      do {
        e++;
        man <<= 1;
      } while (!(man & 1024u));
      bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 1023u) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | man << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | man << 13;
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static float cvt_load(const void *src, warm_dtype dt, size_t i, float scale) {
  switch (dt) {
  case WARM_F32:
    return ((const float *)src)[i];
  case WARM_BF16:
    return wk_bf16_to_f32(((const uint16_t *)src)[i]);
  case WARM_F16:
    return cvt_f16(((const uint16_t *)src)[i]);
  default: /* WARM_FP8_E4M3 */
    return wk_fp8_to_f32(((const uint8_t *)src)[i]) * scale;
  }
}

int warm_weight_convert(const warm_tensor *src, warm_dtype dst_dtype, void *dst,
                        float *scale_out, warm_error *err) {
  const char *name = src->name ? src->name : "(unnamed)";
  int src_ok = src->dtype == WARM_F32 || src->dtype == WARM_BF16 ||
               src->dtype == WARM_F16 || src->dtype == WARM_FP8_E4M3;
  int dst_ok = dst_dtype == WARM_F32 || dst_dtype == WARM_BF16 ||
               dst_dtype == WARM_FP8_E4M3;
  if (!src_ok || !dst_ok)
    return warm_error_set(
        err, WARM_EINVAL, "tensor '%s': cannot convert %s to %s", name,
        warm_dtype_name(src->dtype) ? warm_dtype_name(src->dtype) : "?",
        warm_dtype_name(dst_dtype) ? warm_dtype_name(dst_dtype) : "?");
  int64_t n64 = warm_tensor_numel(src);
  size_t n = (size_t)n64;
  float in_scale = src->dtype == WARM_FP8_E4M3 ? src->scale : 1.0f;
  if (scale_out) *scale_out = 1.0f;
  if (src->dtype == dst_dtype) {
    if (n) memcpy(dst, src->data, warm_weight_bytes(dst_dtype, n));
    if (scale_out && dst_dtype == WARM_FP8_E4M3) *scale_out = in_scale;
    return 0;
  }
  switch (dst_dtype) {
  case WARM_F32:
    for (size_t i = 0; i < n; i++)
      ((float *)dst)[i] = cvt_load(src->data, src->dtype, i, in_scale);
    break;
  case WARM_BF16:
    for (size_t i = 0; i < n; i++)
      ((uint16_t *)dst)[i] =
          wk_f32_to_bf16(cvt_load(src->data, src->dtype, i, in_scale));
    break;
  default: { /* fp8: per-tensor scale = amax / 448 */
    float amax = 0.0f;
    for (size_t i = 0; i < n; i++) {
      float a = fabsf(cvt_load(src->data, src->dtype, i, in_scale));
      if (a > amax && isfinite(a)) amax = a;
    }
    float s = amax > 0.0f ? amax / 448.0f : 1.0f;
    for (size_t i = 0; i < n; i++)
      ((uint8_t *)dst)[i] =
          wk_f32_to_fp8(cvt_load(src->data, src->dtype, i, in_scale) / s);
    if (scale_out) *scale_out = s;
  }
  }
  return 0;
}

/* ---- plugin keys --------------------------------------------------------- */

int warm_key_auto_bool(const char *key, const char *value, int *mode,
                       warm_error *err) {
  if (value && !strcmp(value, "auto"))
    *mode = -1;
  else if (value && !strcmp(value, "true"))
    *mode = 1;
  else if (value && !strcmp(value, "false"))
    *mode = 0;
  else
    return warm_error_set(err, WARM_EINVAL,
                          "key %s: \"%s\" must be auto, true or false", key,
                          value ? value : "");
  return 0;
}
