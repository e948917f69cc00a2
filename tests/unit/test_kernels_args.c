/*
 * The front's contract outside the numerics: context lifecycle, cpu memory,
 * copies and events, and that bad arguments come back as WK_EINVAL (or
 * WK_EUNSUPPORTED) with a message naming the op, never a crash.
 */
#include "wk_testutil.h"

static void test_context_create_errors_and_backend_query(void) {
  wk_ctx *c = (wk_ctx *)0x1;
  WT_RC(wk_ctx_create(WK_BACKEND_CPU, 0, -1, &c), WK_EINVAL);
  WT_CHECK(c == NULL, "out cleared on failure");
  WT_CHECK(strstr(wk_last_error(NULL), "threads") != NULL,
           "creation error readable: %s", wk_last_error(NULL));
  WT_RC(wk_ctx_create(WK_BACKEND_CPU, 1, 1, &c), WK_EINVAL);
  WT_RC(wk_ctx_create((wk_backend)7, 0, 1, &c), WK_EINVAL);
  WT_RC(wk_ctx_create(WK_BACKEND_CPU, 0, 1, NULL), WK_EINVAL);
  WT_CHECK(wk_backend_available(WK_BACKEND_CPU) == 1, "cpu available");
  if (!wk_backend_available(WK_BACKEND_CUDA)) {
    int rc = wk_ctx_create(WK_BACKEND_CUDA, 0, 0, &c);
    WT_CHECK(rc == WK_EUNSUPPORTED, "cuda without a device: %d", rc);
    WT_CHECK(wk_cuda_device_count() == 0, "no devices");
  }
  WT_RC(wk_ctx_create(WK_BACKEND_CPU, 0, 0, &c), 0); /* online cores */
  WT_CHECK(c && wk_ctx_backend(c) == WK_BACKEND_CPU, "backend");
  wk_ctx_destroy(c);
  wk_ctx_destroy(NULL);
}

static void test_memory_copies_events_round_trip(wt_env *e) {
  void *d = NULL, *h = NULL;
  size_t free_b = 0, total = 0;
  WT_RC(wk_dev_mem_info(e->c, &free_b, &total), 0);
  WT_CHECK(total > ((size_t)1 << 20) && free_b <= total,
           "device memory info: %zu free of %zu", free_b, total);
  WT_RC(wk_dev_mem_info(e->c, NULL, &total), WK_EINVAL);
  WT_RC(wk_dev_alloc(e->c, 1000, &d), 0);
  WT_CHECK(d && ((uintptr_t)d % 64) == 0, "aligned device memory");
  WT_RC(wk_host_alloc_pinned(e->c, 1000, &h), 0);
  unsigned char src[1000], back[1000];
  for (int i = 0; i < 1000; i++)
    src[i] = (unsigned char)wt_next();
  wk_event *ev = NULL;
  WT_RC(wk_event_create(e->c, &ev), 0);
  WT_RC(wk_copy_h2d_async(e->c, d, src, 1000), 0);
  WT_RC(wk_event_record_copy(e->c, ev), 0);
  WT_RC(wk_compute_wait(e->c, ev), 0);
  WT_RC(wk_copy_d2d(e->c, h, d, 1000), 0);
  WT_RC(wk_event_record_compute(e->c, ev), 0);
  WT_RC(wk_copy_wait(e->c, ev), 0);
  WT_RC(wk_event_sync(e->c, ev), 0);
  WT_RC(wk_copy_d2h(e->c, back, h, 1000), 0);
  WT_RC(wk_sync(e->c), 0);
  WT_CHECK(memcmp(src, back, 1000) == 0, "bytes survive h2d, d2d, d2h");
  WT_RC(wk_memset(e->c, d, 0xAB, 10), 0);
  WT_RC(wk_copy_h2d(e->c, back, d, 10), 0);
  WT_CHECK(back[0] == 0xAB && back[9] == 0xAB, "memset");
  WT_RC(wk_host_register(e->c, src, sizeof src), 0);
  WT_RC(wk_host_unregister(e->c, src), 0);
  WT_RC(wk_copy_h2d(e->c, NULL, src, 4), WK_EINVAL);
  WT_RC(wk_copy_h2d(e->c, NULL, NULL, 0), 0);
  WT_RC(wk_event_sync(e->c, NULL), WK_EINVAL);
  void *z = (void *)0x1;
  WT_RC(wk_dev_alloc(e->c, 0, &z), 0);
  WT_CHECK(z == NULL, "zero-byte alloc gives NULL");
  WT_RC(wk_dev_alloc(e->c, SIZE_MAX - 8, &z), WK_ENOMEM);
  wk_event_destroy(e->c, ev);
  wk_host_free_pinned(e->c, h);
  wk_dev_free(e->c, d);
  wk_dev_free(e->c, NULL);
}

static void test_bad_arguments_are_refused_with_a_message(wt_env *e) {
  float buf[256] = {0}, out[256];
  wk_w bad = {buf, (wk_dtype)42, 1.0f};
  wk_w nanscale = {buf, WK_FP8_E4M3, NAN};
  WT_RC(wk_linear(e->c, buf, -1, 4, wt_f32(buf), wt_none(), 4, out), WK_EINVAL);
  WT_CHECK(strstr(wk_last_error(e->c), "wk_linear") != NULL, "names op: %s",
           wk_last_error(e->c));
  WT_RC(wk_linear(e->c, buf, 2, 4, bad, wt_none(), 4, out), WK_EINVAL);
  WT_RC(wk_linear(e->c, buf, 2, 4, nanscale, wt_none(), 4, out), WK_EINVAL);
  WT_RC(wk_linear(e->c, NULL, 2, 4, wt_f32(buf), wt_none(), 4, out), WK_EINVAL);
  WT_RC(wk_linear(e->c, buf, 2, 4, wt_f32(buf), wt_none(), 4, buf + 1),
        WK_EINVAL); /* y overlaps x */
  WT_RC(wk_linear(NULL, buf, 2, 4, wt_f32(buf), wt_none(), 4, out), WK_EINVAL);
  WT_RC(
      wk_linear(e->c, buf, (int64_t)1 << 50, 4, wt_f32(buf), wt_none(), 4, out),
      WK_EINVAL);
  WT_RC(wk_gemm(e->c, 0, 0, 4, 4, 4, 1, buf, 3, 0, buf, 4, 0, 0, out, 4, 0, 1),
        WK_EINVAL); /* lda < K */
  WT_RC(wk_gemm(e->c, 2, 0, 4, 4, 4, 1, buf, 4, 0, buf, 4, 0, 0, out, 4, 0, 1),
        WK_EINVAL);
  WT_RC(wk_gemm(e->c, 0, 0, 4, 4, 4, 1, buf, 4, 0, buf, 4, 0, 0, out, 4, 0, 2),
        WK_EINVAL); /* batches write the same C */
  WT_RC(wk_rmsnorm(e->c, buf, wt_none(), 2, 0, 1e-6f, 0, out), WK_EINVAL);
  WT_RC(wk_rmsnorm(e->c, buf, wt_none(), 2, 4, -1.0f, 0, out), WK_EINVAL);
  WT_RC(wk_layernorm(e->c, buf, bad, wt_none(), 2, 4, 1e-6f, out), WK_EINVAL);
  WT_RC(wk_softmax(e->c, buf, 2, 0, out), WK_EINVAL);
  WT_RC(wk_silu(e->c, buf, -5, out), WK_EINVAL);
  WT_RC(wk_add(e->c, buf, NULL, 5, out), WK_EINVAL);
  WT_RC(wk_modulate(e->c, buf, NULL, buf, 2, 2, out), WK_EINVAL);
  WT_RC(wk_transpose(e->c, buf, 4, 4, buf + 2), WK_EINVAL);
  WT_RC(wk_depth_to_space3d(e->c, buf, 1, 1, 1, 1, 1, -1, 1, out), WK_EINVAL);
  /* Zero-sized work succeeds without touching anything. */
  WT_RC(wk_add(e->c, NULL, NULL, 0, NULL), 0);
  WT_RC(wk_linear(e->c, NULL, 0, 4, wt_f32(buf), wt_none(), 4, NULL), 0);
}

int main(void) {
  wt_seed("test_kernels_args");
  test_context_create_errors_and_backend_query();
  wt_env e;
  if (wt_env_init(&e, 2)) return 1;
  test_memory_copies_events_round_trip(&e);
  test_bad_arguments_are_refused_with_a_message(&e);
  wt_env_fini(&e);
  return wt_finish("test_kernels_args");
}
