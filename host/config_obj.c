/*
 * host/config_obj.c — the wh_config object itself: its error list, its
 * reference count and freeing, key lookup. Parsing is config.c.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void wh_config_error(wh_config *c, int line, const char *fmt, ...) {
  char msg[768], full[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (line > 0)
    snprintf(full, sizeof full, "%s:%d: %s", c->path, line, msg);
  else
    snprintf(full, sizeof full, "%s: %s", c->path, msg);
  char **e = realloc(c->errors, (c->n_errors + 1) * sizeof *e);
  if (!e) return;
  c->errors = e;
  int *l = realloc(c->error_lines, (c->n_errors + 1) * sizeof *l);
  if (!l) return;
  c->error_lines = l;
  c->error_lines[c->n_errors] = line;
  c->errors[c->n_errors] = strdup(full);
  if (c->errors[c->n_errors]) c->n_errors++;
}

void wh_config_sort_errors(wh_config *c) {
  for (size_t i = 1; i < c->n_errors; i++) /* insertion sort: stable */
    for (size_t j = i; j > 0 && c->error_lines[j - 1] > c->error_lines[j];
         j--) {
      int tl = c->error_lines[j];
      c->error_lines[j] = c->error_lines[j - 1];
      c->error_lines[j - 1] = tl;
      char *te = c->errors[j];
      c->errors[j] = c->errors[j - 1];
      c->errors[j - 1] = te;
    }
}

uint64_t wh_physical_ram(void) {
  long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || psz <= 0) return 0;
  return (uint64_t)pages * (uint64_t)psz;
}

static void free_comp(wh_cfg_component *cc) {
  free(cc->name);
  free(cc->plugin);
  free(cc->weights);
  free(cc->device_name);
  for (size_t k = 0; k < cc->n_all; k++) {
    free(cc->all[k].key);
    free(cc->all[k].value);
  }
  free(cc->all);
  free(cc->plugin_keys);
}

wh_config *wh_config_ref(wh_config *c) {
  __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
  return c;
}

void wh_config_free(wh_config *c) {
  if (!c) return;
  if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) > 0) return;
  free(c->path);
  free(c->dir);
  free(c->plugin_dir);
  free(c->admin_socket);
  free(c->stats_socket);
  free(c->output_dir);
  free(c->http_listen);
  wh_config_ops_free(c);
  for (size_t i = 0; i < c->n_devices; i++)
    free(c->devices[i].name);
  free(c->devices);
  for (size_t i = 0; i < c->n_components; i++)
    free_comp(&c->components[i]);
  free(c->components);
  free(c->pipeline.encoder);
  free(c->pipeline.decoder);
  free(c->pipeline.upsampler);
  free(c->pipeline.audio_decoder);
  for (size_t i = 0; i < c->pipeline.n_stages; i++) {
    free(c->pipeline.stages[i]);
    free(c->pipeline.stage_adapters[i]);
  }
  for (size_t i = 0; i < c->n_errors; i++)
    free(c->errors[i]);
  free(c->errors);
  free(c->error_lines);
  free(c);
}

const char *wh_cfg_component_get(const wh_cfg_component *cc, const char *key) {
  for (size_t i = 0; i < cc->n_all; i++)
    if (!strcmp(cc->all[i].key, key)) return cc->all[i].value;
  return NULL;
}
