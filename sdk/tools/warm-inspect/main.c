/* warm-inspect PATH [--json]: the tensors of a safetensors file or
 * checkpoint folder (name, dtype, shape, bytes) and totals; for an LTX-2
 * combined checkpoint also its model_version, config sub-objects and the
 * tensors and bytes per component prefix, for a LoRA its pairs and ranks.
 * Exit 0 on
 * success, 1 when the checkpoint is refused (the reason on stderr), 2 on a
 * usage error. */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "warm/lora.h"
#include "warm/ltx2.h"
#include "warm/safetensors.h"
#include "warm/warm.h"

static warm_ltx2 *open_ltx2(const warm_st *st);
static void print_ltx2(const warm_ltx2 *f);
static warm_lora *open_lora(const warm_st *st);
static json_t *json_lora(const warm_lora *l);

static void usage(FILE *f) {
  fprintf(f, "usage: warm-inspect PATH [--json]\n"
             "  PATH: a .safetensors file, or a checkpoint folder (sharded "
             "through\n"
             "        model.safetensors.index.json, or *.safetensors)\n");
}

static void shape_str(const warm_st_entry *e, char *buf, size_t n) {
  size_t o = (size_t)snprintf(buf, n, "[");
  for (int32_t i = 0; i < e->ndim && o < n; i++)
    o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? ", " : "",
                          (long long)e->shape[i]);
  if (o < n) snprintf(buf + o, n - o, "]");
}

static int print_text(const warm_st *st) {
  size_t n = warm_st_count(st), wname = 4;
  for (size_t i = 0; i < n; i++) {
    size_t l = strlen(warm_st_at(st, i)->name);
    if (l > wname) wname = l;
  }
  if (wname > 80) wname = 80;
  printf("%-*s  %-7s  %-24s  %s\n", (int)wname, "name", "dtype", "shape",
         "bytes");
  for (size_t i = 0; i < n; i++) {
    const warm_st_entry *e = warm_st_at(st, i);
    char shape[200];
    shape_str(e, shape, sizeof shape);
    printf("%-*s  %-7s  %-24s  %llu\n", (int)wname, e->name,
           warm_st_dtype_name(e->st_dtype), shape,
           (unsigned long long)e->nbytes);
  }
  char sz[64];
  printf("\n%zu tensors, %llu bytes (%s) in %u file(s)\n", n,
         (unsigned long long)warm_st_total_bytes(st),
         warm_format_size(warm_st_total_bytes(st), sz, sizeof sz),
         warm_st_file_count(st));
  for (size_t i = 0; i < warm_st_metadata_count(st); i++) {
    const char *k, *v;
    warm_st_metadata_at(st, i, &k, &v);
    /* The LTX-2 config is one long JSON line: shown as its sub-objects. */
    if (strcmp(k, "config") == 0 && strlen(v) > 200)
      printf("metadata %s = (%zu bytes of JSON)\n", k, strlen(v));
    else
      printf("metadata %s = %s\n", k, v);
  }
  warm_ltx2 *f = open_ltx2(st);
  if (f) print_ltx2(f);
  warm_ltx2_close(f);
  warm_lora *l = open_lora(st);
  if (l) {
    json_t *j = json_lora(l);
    printf("\nLoRA: %lld adapted linears (module keys without the "
           "diffusion_model. prefix), rank %lld..%lld, %lld other tensors "
           "ignored\n",
           (long long)json_integer_value(json_object_get(j, "pairs")),
           (long long)json_integer_value(json_object_get(j, "rank_min")),
           (long long)json_integer_value(json_object_get(j, "rank_max")),
           (long long)json_integer_value(json_object_get(j, "ignored")));
    json_decref(j);
  }
  warm_lora_close(l);
  return 0;
}

/* An LTX-2 combined file: its config has a "transformer" object, or its
 * keys use the transformer prefix. NULL otherwise (or for a folder). */
static warm_ltx2 *open_ltx2(const warm_st *st) {
  int ltx2 = warm_st_file_count(st) == 1 &&
             strcmp(warm_st_file_path(st, 0), warm_st_path(st)) == 0;
  int marked = 0;
  for (size_t i = 0; ltx2 && !marked && i < warm_st_count(st); i++)
    marked = strncmp(warm_st_at(st, i)->name, WARM_LTX2_DIT,
                     strlen(WARM_LTX2_DIT)) == 0;
  warm_ltx2 *f = NULL;
  warm_error err = {0};
  if (!ltx2 || warm_ltx2_open(warm_st_path(st), &f, &err)) return NULL;
  if (!marked && !warm_ltx2_has_config(f, "transformer")) {
    warm_ltx2_close(f);
    return NULL;
  }
  return f;
}

static void print_ltx2(const warm_ltx2 *f) {
  const char *v = warm_ltx2_model_version(f);
  printf("\nLTX-2 checkpoint, model_version %s; config:", v ? v : "(absent)");
  if (!warm_ltx2_config_count(f)) printf(" (absent)");
  for (size_t i = 0; i < warm_ltx2_config_count(f); i++)
    printf("%s %s", i ? "," : "", warm_ltx2_config_name(f, i));
  printf("\n%-52s  %-24s  %8s  %s\n", "prefix", "component", "tensors",
         "bytes");
  for (size_t i = 0; warm_ltx2_parts[i].prefix; i++) {
    size_t n;
    uint64_t b = warm_ltx2_part_bytes(f, i, &n);
    if (!n) continue;
    char sz[64];
    printf("%-52s  %-24s  %8zu  %llu (%s)\n", warm_ltx2_parts[i].prefix,
           warm_ltx2_parts[i].what, n, (unsigned long long)b,
           warm_format_size(b, sz, sizeof sz));
  }
}

static json_t *json_ltx2(const warm_ltx2 *f) {
  json_t *o = json_object(), *parts = json_array(), *cfg = json_array();
  const char *v = warm_ltx2_model_version(f);
  json_object_set_new(o, "model_version", v ? json_string(v) : json_null());
  for (size_t i = 0; i < warm_ltx2_config_count(f); i++)
    json_array_append_new(cfg, json_string(warm_ltx2_config_name(f, i)));
  for (size_t i = 0; warm_ltx2_parts[i].prefix; i++) {
    size_t n;
    uint64_t b = warm_ltx2_part_bytes(f, i, &n);
    if (n)
      json_array_append_new(
          parts, json_pack("{s:s, s:s, s:I, s:I}", "prefix",
                           warm_ltx2_parts[i].prefix, "component",
                           warm_ltx2_parts[i].what, "tensors", (json_int_t)n,
                           "bytes", (json_int_t)b));
  }
  json_object_set_new(o, "config", cfg);
  json_object_set_new(o, "components", parts);
  return o;
}

/* A LoRA file: some key ends in .lora_A.weight. NULL otherwise. */
static warm_lora *open_lora(const warm_st *st) {
  int any = 0;
  for (size_t i = 0; !any && i < warm_st_count(st); i++) {
    const char *n = warm_st_at(st, i)->name;
    size_t len = strlen(n);
    any = len > 14 && strcmp(n + len - 14, ".lora_A.weight") == 0;
  }
  warm_lora *l = NULL;
  warm_error err = {0};
  if (any && warm_lora_open(warm_st_path(st), &l, &err)) {
    fprintf(stderr, "warm-inspect: not a usable LoRA: %s\n", err.msg);
    return NULL;
  }
  return l;
}

static json_t *json_lora(const warm_lora *l) {
  int64_t rmin = INT64_MAX, rmax = 0;
  for (size_t i = 0; i < warm_lora_count(l); i++) {
    const warm_lora_pair *p = warm_lora_at(l, i);
    rmin = p->rank < rmin ? p->rank : rmin;
    rmax = p->rank > rmax ? p->rank : rmax;
  }
  return json_pack("{s:I, s:I, s:I, s:I}", "pairs",
                   (json_int_t)warm_lora_count(l), "rank_min",
                   (json_int_t)rmin, "rank_max", (json_int_t)rmax, "ignored",
                   (json_int_t)warm_lora_ignored(l));
}

static int print_json(const warm_st *st) {
  json_t *root = json_object(), *tensors = json_array(), *files = json_array(),
         *meta = json_object();
  for (size_t i = 0; i < warm_st_count(st); i++) {
    const warm_st_entry *e = warm_st_at(st, i);
    json_t *shape = json_array();
    for (int32_t d = 0; d < e->ndim; d++)
      json_array_append_new(shape, json_integer(e->shape[d]));
    json_array_append_new(
        tensors,
        json_pack("{s:s, s:s, s:o, s:I, s:s, s:I}", "name", e->name, "dtype",
                  warm_st_dtype_name(e->st_dtype), "shape", shape, "bytes",
                  (json_int_t)e->nbytes, "file", warm_st_file_path(st, e->file),
                  "offset", (json_int_t)e->file_offset));
  }
  for (uint32_t i = 0; i < warm_st_file_count(st); i++)
    json_array_append_new(files, json_string(warm_st_file_path(st, i)));
  for (size_t i = 0; i < warm_st_metadata_count(st); i++) {
    const char *k, *v;
    warm_st_metadata_at(st, i, &k, &v);
    json_object_set_new(meta, k, json_string(v));
  }
  json_object_set_new(root, "path", json_string(warm_st_path(st)));
  json_object_set_new(root, "files", files);
  json_object_set_new(root, "metadata", meta);
  json_object_set_new(root, "tensors", tensors);
  json_object_set_new(root, "total_tensors",
                      json_integer((json_int_t)warm_st_count(st)));
  json_object_set_new(root, "total_bytes",
                      json_integer((json_int_t)warm_st_total_bytes(st)));
  warm_ltx2 *f = open_ltx2(st);
  if (f) json_object_set_new(root, "ltx2", json_ltx2(f));
  warm_ltx2_close(f);
  warm_lora *l = open_lora(st);
  if (l) json_object_set_new(root, "lora", json_lora(l));
  warm_lora_close(l);
  int rc = json_dumpf(root, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  printf("\n");
  json_decref(root);
  return rc;
}

int main(int argc, char **argv) {
  const char *path = NULL;
  int as_json = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) {
      as_json = 1;
    } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
      usage(stdout);
      return 0;
    } else if (argv[i][0] == '-' || path) {
      fprintf(stderr, "warm-inspect: unexpected argument '%s'\n", argv[i]);
      usage(stderr);
      return 2;
    } else {
      path = argv[i];
    }
  }
  if (!path) {
    usage(stderr);
    return 2;
  }
  warm_st *st;
  warm_error err = {0};
  if (warm_st_open(path, &st, &err)) {
    fprintf(stderr, "warm-inspect: %s\n", err.msg);
    return 1;
  }
  int rc = as_json ? print_json(st) : print_text(st);
  warm_st_close(st);
  if (fflush(stdout) != 0 || rc != 0) {
    fprintf(stderr, "warm-inspect: cannot write output\n");
    return 1;
  }
  return 0;
}
