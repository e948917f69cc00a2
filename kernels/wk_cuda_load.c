/*
 * wk_cuda_load.c — finding and loading the CUDA backend library (see the
 * table in wk_internal.h). Looked for, in order: $WARM_CUDA_LIB (a path),
 * next to the object holding this code (libwarm.so's folder), in ../lib
 * from there (an executable in bin/ or tests/ that links the kernels
 * statically), then by name through the dynamic linker's search.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wk_internal.h"

#define WK_CUDA_LIB_NAME "libwarm_cuda.so.1"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const wk__cuda_table *table;
static char reason[512] = "not loaded";

static void *try_open(const char *path, char *errs, size_t n) {
  void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    const char *e = dlerror();
    size_t used = strlen(errs);
    if (used + 1 < n)
      snprintf(errs + used, n - used, "%s%s", used ? "; " : "", e ? e : path);
  }
  return h;
}

static void load(void) {
  char errs[2048] = "", path[4096];
  void *h = NULL;
  const char *env = getenv("WARM_CUDA_LIB");
  if (env && *env) h = try_open(env, errs, sizeof errs);
  Dl_info info;
  if (!h && dladdr((void *)&wk__cuda, &info) && info.dli_fname) {
    const char *slash = strrchr(info.dli_fname, '/');
    int dl = slash ? (int)(slash - info.dli_fname) : 0;
    const char *rel[] = {"/", "/../lib/"};
    for (int i = 0; i < 2 && !h && slash; i++) {
      snprintf(path, sizeof path, "%.*s%s%s", dl, info.dli_fname, rel[i],
               WK_CUDA_LIB_NAME);
      h = dlopen(path, RTLD_NOW | RTLD_LOCAL); /* absent: quietly next */
    }
  }
  if (!h) h = try_open(WK_CUDA_LIB_NAME, errs, sizeof errs);
  if (!h) {
    snprintf(reason, sizeof reason, "cannot load %s: %s", WK_CUDA_LIB_NAME,
             errs);
    return;
  }
  const wk__cuda_table *(*get)(void) =
      (const wk__cuda_table *(*)(void))dlsym(h, "wkcu_backend_table");
  const wk__cuda_table *t = get ? get() : NULL;
  if (!t || t->abi != WK__CUDA_TABLE_ABI) {
    snprintf(reason, sizeof reason,
             "%s is from another build (table %d, this libwarm wants %d)",
             WK_CUDA_LIB_NAME, t ? t->abi : -1, WK__CUDA_TABLE_ABI);
    dlclose(h);
    return;
  }
  /* Every slot filled (a name missing from WK__BACKEND_NAMES would leave a
   * NULL here). The slots after abi are all function pointers. */
  void (*const *fn)(void) = (void (*const *)(void)) & t->device_count;
  for (int i = 0; i < 3 + WK__N_BACKEND_FNS; i++)
    if (!fn[i]) {
      snprintf(reason, sizeof reason, "%s: entry %d of its table is empty",
               WK_CUDA_LIB_NAME, i);
      dlclose(h);
      return;
    }
  table = t; /* the library stays loaded for the process's life */
  snprintf(reason, sizeof reason, "loaded");
}

const wk__cuda_table *wk__cuda(const char **why) {
  pthread_once(&once, load);
  if (why) *why = reason;
  return table;
}
