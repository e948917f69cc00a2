/*
 * host/registry.c — plugin path policy and refcounted plugin handles (see
 * registry.h). Opening and ABI checks are the SDK loader's (warm/loader.h),
 * so warmd and the conformance tool judge a plugin the same way.
 */
#include "registry.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "warm/warm.h"

struct wh_plugin_ref {
  char *path; /* real path */
  char *short_name;
  warm_plugin *plugin;
  int refs;
  wh_plugin_ref *next;
};

struct wh_registry {
  pthread_mutex_t lock;
  wh_plugin_ref *head;
};

int wh_registry_create(wh_registry **out) {
  wh_registry *r = calloc(1, sizeof *r);
  if (!r) return WARM_ENOMEM;
  pthread_mutex_init(&r->lock, NULL);
  *out = r;
  return 0;
}

void wh_registry_destroy(wh_registry *r) {
  if (!r) return;
  /* Any leftover handle is a refcount bug; close it anyway. */
  while (r->head) {
    wh_plugin_ref *p = r->head;
    r->head = p->next;
    warm_plugin_close(p->plugin);
    free(p->path);
    free(p->short_name);
    free(p);
  }
  pthread_mutex_destroy(&r->lock);
  free(r);
}

int wh_registry_resolve(const char *plugin_dir, const char *name, char *out,
                        warm_error *err) {
  char dir_real[PATH_MAX], cand[PATH_MAX * 2];
  if (!name || !*name)
    return warm_error_set(err, WARM_EINVAL, "empty plugin name");
  /* A name is a file in plugin_dir, never a path: what may load is what
   * the operator put (or linked) into that one folder. */
  if (strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
    return warm_error_set(err, WARM_EINVAL,
                          "plugin '%s': a plugin is NAME or NAME.so in "
                          "plugin_dir, never a path; place the file (or a "
                          "symbolic link to it) in plugin_dir",
                          name);
  if (!plugin_dir || !realpath(plugin_dir, dir_real))
    return warm_error_set(err, WARM_EIO, "plugin_dir '%s': %s",
                          plugin_dir ? plugin_dir : "(unset)", strerror(errno));
  size_t nl = strlen(name);
  int has_so = nl > 3 && !strcmp(name + nl - 3, ".so");
  snprintf(cand, sizeof cand, "%s/%s%s", dir_real, name, has_so ? "" : ".so");
  /* A symbolic link in plugin_dir is followed wherever it points: placing
   * it there is the operator's decision. */
  if (!realpath(cand, out))
    return warm_error_set(err, WARM_EIO, "plugin '%s': %s: %s", name, cand,
                          strerror(errno));
  return 0;
}

int wh_registry_open(wh_registry *r, const char *plugin_dir, const char *name,
                     wh_plugin_ref **out, warm_error *err) {
  char real[PATH_MAX];
  int rc = wh_registry_resolve(plugin_dir, name, real, err);
  if (rc) return rc;
  pthread_mutex_lock(&r->lock);
  for (wh_plugin_ref *p = r->head; p; p = p->next)
    if (!strcmp(p->path, real)) {
      p->refs++;
      pthread_mutex_unlock(&r->lock);
      *out = p;
      return 0;
    }
  /* Opened under the lock: two threads asking for the same new file must
   * not both dlopen it. Opening is rare (config load, swap). */
  warm_plugin *wp = NULL;
  rc = warm_plugin_open(real, &wp, err);
  if (rc) {
    pthread_mutex_unlock(&r->lock);
    return rc;
  }
  wh_plugin_ref *p = calloc(1, sizeof *p);
  const char *base = strrchr(real, '/');
  base = base ? base + 1 : real;
  if (p) {
    p->path = strdup(real);
    p->short_name = strdup(base);
  }
  if (!p || !p->path || !p->short_name) {
    if (p) {
      free(p->path);
      free(p->short_name);
    }
    free(p);
    warm_plugin_close(wp);
    pthread_mutex_unlock(&r->lock);
    return warm_error_set(err, WARM_ENOMEM, "out of memory opening %s", real);
  }
  size_t bl = strlen(p->short_name);
  if (bl > 3 && !strcmp(p->short_name + bl - 3, ".so"))
    p->short_name[bl - 3] = '\0';
  p->plugin = wp;
  p->refs = 1;
  p->next = r->head;
  r->head = p;
  pthread_mutex_unlock(&r->lock);
  *out = p;
  return 0;
}

void wh_registry_release(wh_registry *r, wh_plugin_ref *p) {
  if (!p) return;
  pthread_mutex_lock(&r->lock);
  if (--p->refs > 0) {
    pthread_mutex_unlock(&r->lock);
    return;
  }
  for (wh_plugin_ref **pp = &r->head; *pp; pp = &(*pp)->next)
    if (*pp == p) {
      *pp = p->next;
      break;
    }
  pthread_mutex_unlock(&r->lock);
  warm_plugin_close(p->plugin);
  free(p->path);
  free(p->short_name);
  free(p);
}

const warm_plugin_desc *wh_plugin_desc(const wh_plugin_ref *p) {
  return warm_plugin_descriptor(p->plugin);
}

const char *wh_plugin_file(const wh_plugin_ref *p) {
  return p->path;
}

const char *wh_plugin_short(const wh_plugin_ref *p) {
  return p->short_name;
}

size_t wh_registry_open_count(wh_registry *r) {
  size_t n = 0;
  pthread_mutex_lock(&r->lock);
  for (wh_plugin_ref *p = r->head; p; p = p->next)
    n++;
  pthread_mutex_unlock(&r->lock);
  return n;
}
