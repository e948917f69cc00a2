/*
 * embed.cu — embedding gather. The ids live on the host (wk.h), so they are
 * checked there and staged through the context's pinned buffer; for
 * wk_embed_gather_host the selected table rows travel the same way, still
 * in the table's dtype, and are decoded on the device.
 */
#include <string.h>

#include "wkcu_internal.cuh"

/* out[t, c] = decode(table[ids[t], c]) * mult, with fp8 decode = byte *
 * scale first (the host helpers' order). For the host variant `ids` is
 * NULL and row t of `table` is the staged row. */
__global__ void wkcu_gather_k(const void *table, int dt, float scale, int64_t C,
                              const int32_t *ids, int64_t T, float mult,
                              float *out) {
  int64_t n = T * C;
  for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n;
       i += (int64_t)gridDim.x * blockDim.x) {
    int64_t t = i / C, col = i % C;
    int64_t row = ids ? (int64_t)ids[t] : t;
    out[i] = wkcu_w_at(table, (wk_dtype)dt, scale, row * C + col) * mult;
  }
}

static int wkcu__check_ids(wk_ctx *c, const char *W, const int32_t *ids,
                           int64_t T, int64_t V) {
  for (int64_t t = 0; t < T; t++)
    if (ids[t] < 0 || ids[t] >= V)
      return wk__fail(c, WK_EINVAL, "%s: ids[%lld] = %d is outside [0, %lld)",
                      W, (long long)t, (int)ids[t], (long long)V);
  return WK_OK;
}

extern "C" int wkcu_embed_gather(wk_ctx *c, wk_w table, int64_t V, int64_t C,
                                 const int32_t *ids, int64_t T, float mult,
                                 float *out) {
  static const char *W = "wk_embed_gather(cuda)";
  int rc = wkcu__check_ids(c, W, ids, T, V);
  if (rc || T == 0 || C == 0) return rc;
  size_t bytes = (size_t)T * sizeof(int32_t);
  if ((rc = wkcu__enter(c, W)) || (rc = wkcu__stage(c, bytes, W))) return rc;
  wkcu_state *s = wkcu__st(c);
  memcpy(s->stage_host, ids, bytes);
  rc = wkcu__rt(c,
                cudaMemcpyAsync(s->stage_dev, s->stage_host, bytes,
                                cudaMemcpyHostToDevice, s->compute),
                W, "cudaMemcpyAsync(ids)");
  if (rc) return rc;
  wkcu_gather_k<<<wkcu__blocks(T * C, 256), 256, 0, s->compute>>>(
      table.data, table.dtype, table.scale, C, (const int32_t *)s->stage_dev, T,
      mult, out);
  if ((rc = wkcu__launched(c, W))) return rc;
  return wkcu__stage_release(c, W);
}

extern "C" int wkcu_embed_gather_host(wk_ctx *c, wk_w table, int64_t V,
                                      int64_t C, const int32_t *ids, int64_t T,
                                      float mult, float *out) {
  static const char *W = "wk_embed_gather_host(cuda)";
  int rc = wkcu__check_ids(c, W, ids, T, V);
  if (rc || T == 0 || C == 0) return rc;
  size_t es = wk__dtype_size(table.dtype);
  if (es == 0)
    return wk__fail(c, WK_EINVAL, "%s: unknown table dtype %d", W,
                    (int)table.dtype);
  size_t row = (size_t)C * es, bytes = row * (size_t)T;
  if ((rc = wkcu__enter(c, W)) || (rc = wkcu__stage(c, bytes, W))) return rc;
  wkcu_state *s = wkcu__st(c);
  const char *tab = (const char *)table.data;
  for (int64_t t = 0; t < T; t++)
    memcpy((char *)s->stage_host + (size_t)t * row, tab + (size_t)ids[t] * row,
           row);
  rc = wkcu__rt(c,
                cudaMemcpyAsync(s->stage_dev, s->stage_host, bytes,
                                cudaMemcpyHostToDevice, s->compute),
                W, "cudaMemcpyAsync(rows)");
  if (rc) return rc;
  wkcu_gather_k<<<wkcu__blocks(T * C, 256), 256, 0, s->compute>>>(
      s->stage_dev, table.dtype, table.scale, C, NULL, T, mult, out);
  if ((rc = wkcu__launched(c, W))) return rc;
  return wkcu__stage_release(c, W);
}
