/*
 * test_cuda_load.c — the CUDA backend as a library loaded on demand: when
 * it was built, the front finds libwarm_cuda.so.1 and takes its table (a
 * full one, of this build); where there is no GPU, a cuda context is
 * refused with the reason; without the library the reason names it.
 */
#include <string.h>

#include "wh_testutil.h"
#include "wk.h"
#include "wk_internal.h"

static void test_backend_table_loads_when_built(void) {
  const char *why = NULL;
  const wk__cuda_table *t = wk__cuda(&why);
#ifdef WARM_TEST_CUDA_LIB
  CHECK(t && !strcmp(why, "loaded"), "libwarm_cuda loaded: %s", why);
  CHECK(t && t->abi == WK__CUDA_TABLE_ABI, "table of this build");
#else
  CHECK(!t && strstr(why, "libwarm_cuda.so.1"),
        "no CUDA library built: the reason names it: %s", why);
#endif
  CHECK(wk__cuda(NULL) == t, "loaded once");
}

static void test_cuda_context_without_gpu_is_refused_with_reason(void) {
  int n = wk_cuda_device_count();
  CHECK(wk_backend_available(WK_BACKEND_CUDA) == (n > 0), "available = n > 0");
  if (n > 0) {
    wk_ctx *c = NULL;
    CHECK(wk_ctx_create(WK_BACKEND_CUDA, 0, 0, &c) == 0 && c,
          "a GPU is here: the context opens: %s", wk_last_error(NULL));
    wk_ctx_destroy(c);
    return;
  }
  wk_ctx *c = NULL;
  int rc = wk_ctx_create(WK_BACKEND_CUDA, 0, 0, &c);
  CHECK(rc == WK_EUNSUPPORTED && !c, "refused: %d", rc);
  const char *msg = wk_last_error(NULL);
  CHECK(strstr(msg, "0 devices") || strstr(msg, "no CUDA backend"),
        "with the reason: %s", msg);
}

int main(void) {
  RUN(test_backend_table_loads_when_built);
  RUN(test_cuda_context_without_gpu_is_refused_with_reason);
  return wt_failures ? 1 : 0;
}
