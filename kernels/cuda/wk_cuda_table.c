/*
 * wk_cuda_table.c — the one symbol libwarm_cuda.so exports: the table of
 * the CUDA backend's functions, which libwarm's front loads on demand
 * (wk_cuda_load.c).
 */
#include "wk_internal.h"

#define WK__FILL(n) .n = wkcu_##n,

static const wk__cuda_table table = {.abi = WK__CUDA_TABLE_ABI,
                                     .device_count = wkcu_device_count,
                                     .ctx_init = wkcu_ctx_init,
                                     .ctx_fini = wkcu_ctx_fini,
                                     WK__BACKEND_NAMES(WK__FILL)};

__attribute__((visibility("default"))) const wk__cuda_table *
wkcu_backend_table(void);
const wk__cuda_table *wkcu_backend_table(void) {
  return &table;
}
