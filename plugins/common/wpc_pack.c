/* Tensor packs: names, shapes and the blob layout of a set of tensors. */
#include <stdio.h>
#include <string.h>

#include "wpc.h"

int wpc_pack_add(wpc_pack *p, const char *name, int present, int64_t d0,
                 int64_t d1, int matrix) {
  if (p->n >= WPC_MAX_TENSORS) return -1;
  wpc_tensor *t = &p->t[p->n];
  memset(t, 0, sizeof *t);
  snprintf(t->name, sizeof t->name, "%s", name);
  t->ndim = d1 ? 2 : 1;
  t->shape[0] = d0;
  t->shape[1] = d1;
  t->matrix = matrix;
  t->present = present;
  return p->n++;
}

void wpc_pack_layout(wpc_pack *p, warm_dtype dt) {
  size_t off = 0;
  for (int i = 0; i < p->n; i++) {
    wpc_tensor *t = &p->t[i];
    uint64_t n =
        (uint64_t)t->shape[0] * (uint64_t)(t->ndim == 2 ? t->shape[1] : 1);
    t->bytes = t->present ? warm_weight_bytes(t->matrix ? dt : WARM_F32, n) : 0;
    t->offset = off;
    off += (t->bytes + WARM_STREAM_ALIGN - 1) / WARM_STREAM_ALIGN *
           WARM_STREAM_ALIGN;
  }
  p->total = off;
}

int wpc_pack_check(const wpc_pack *p, const warm_st *st, const char *prefix,
                   warm_error *err) {
  char nm[256];
  for (int i = 0; i < p->n; i++) {
    const wpc_tensor *t = &p->t[i];
    if (!t->present) continue;
    snprintf(nm, sizeof nm, "%s%s", prefix, t->name);
    warm_tensor x;
    int rc = warm_st_expect(st, nm, t->ndim, t->shape, &x, err);
    if (rc) return rc;
    if (x.dtype != WARM_F32 && x.dtype != WARM_BF16 && x.dtype != WARM_F16 &&
        x.dtype != WARM_FP8_E4M3)
      return warm_error_set(err, WARM_EFORMAT,
                            "%s: tensor %s has dtype %s; weights must be "
                            "f32, bf16, f16 or fp8",
                            warm_st_path(st), nm, warm_dtype_name(x.dtype));
  }
  return 0;
}
