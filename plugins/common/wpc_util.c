/* The AdaLN sinusoidal timestep projection and weight fingerprints. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "wpc.h"

void wpc_timestep_proj(const float *t, int64_t n, float *out) {
  const int half = WPC_TPROJ / 2;
  const float nl = (float)(-log(10000.0));
  for (int64_t b = 0; b < n; b++)
    for (int i = 0; i < half; i++) {
      float e = nl * (float)i;
      e = e / (float)half;
      float a = t[b] * expf(e);
      out[b * WPC_TPROJ + i] = cosf(a);
      out[b * WPC_TPROJ + half + i] = sinf(a);
    }
}

void wpc_fp_init(wpc_fp *f) {
  f->h[0] = 0xcbf29ce484222325ULL;
  f->h[1] = 0x84222325cbf29ce4ULL;
  f->h[2] = 0x9e3779b97f4a7c15ULL;
  f->h[3] = 0x2545f4914f6cdd1dULL;
}

void wpc_fp_add(wpc_fp *f, const void *p, size_t n) {
  const unsigned char *b = p;
  for (int k = 0; k < 4; k++)
    for (size_t i = 0; i < n; i++) {
      f->h[k] ^= b[i];
      f->h[k] *= 0x100000001b3ULL;
    }
}

/* File identity, not content (which would read tens of GB). */
int wpc_fp_file(wpc_fp *f, const warm_st *st, warm_error *err) {
  for (uint32_t i = 0; i < warm_st_file_count(st); i++) {
    struct stat sb;
    if (stat(warm_st_file_path(st, i), &sb) != 0)
      return warm_error_set(err, WARM_EIO, "cannot stat %s",
                            warm_st_file_path(st, i));
    uint64_t id[5] = {(uint64_t)sb.st_dev, (uint64_t)sb.st_ino,
                      (uint64_t)sb.st_size, (uint64_t)sb.st_mtim.tv_sec,
                      (uint64_t)sb.st_mtim.tv_nsec};
    wpc_fp_add(f, id, sizeof id);
  }
  for (size_t i = 0; i < warm_st_count(st); i++) {
    const warm_st_entry *e = warm_st_at(st, i);
    wpc_fp_add(f, e->name, strlen(e->name));
    wpc_fp_add(f, &e->st_dtype, sizeof e->st_dtype);
    wpc_fp_add(f, e->shape, sizeof(int64_t) * (size_t)e->ndim);
    wpc_fp_add(f, &e->file_offset, sizeof e->file_offset);
  }
  return 0;
}

void wpc_fp_hex(const wpc_fp *f, char out[65]) {
  for (int k = 0; k < 4; k++)
    snprintf(out + 16 * k, 17, "%016llx", (unsigned long long)f->h[k]);
}
