/* Names and parsers of placements, sources, kinds, dtypes and devices; the
 * error helpers; host tensors. */
#include <stdint.h>
#include <stdlib.h>

#include "../sdk/check.h"
#include "warm/warm.h"

static void test_placement_source_kind_names_round_trip(void) {
  warm_placement ps[] = {WARM_PLACE_RESIDENT, WARM_PLACE_STREAM,
                         WARM_PLACE_AUTO};
  for (int i = 0; i < 3; i++)
    CHECK(warm_placement_parse(warm_placement_name(ps[i])) == ps[i]);
  CHECK(warm_placement_parse("Resident") == WARM_PLACE_RESIDENT);
  CHECK(warm_placement_parse("streamed") == 0);
  CHECK(warm_placement_parse("") == 0);
  CHECK(warm_placement_parse(NULL) == 0);
  CHECK(strcmp(warm_placement_name((warm_placement)99), "unknown") == 0);

  CHECK(warm_source_parse("pinned") == WARM_SOURCE_PINNED);
  CHECK(warm_source_parse("MMAP") == WARM_SOURCE_MMAP);
  CHECK(warm_source_parse("disk") == 0);
  CHECK(strcmp(warm_source_name(WARM_SOURCE_MMAP), "mmap") == 0);

  warm_kind ks[] = {WARM_KIND_TEXT_ENCODER, WARM_KIND_TRANSFORMER,
                    WARM_KIND_VAE, WARM_KIND_UPSAMPLER,
                    WARM_KIND_AUDIO_DECODER};
  for (int i = 0; i < 5; i++)
    CHECK(warm_kind_parse(warm_kind_name(ks[i])) == ks[i]);
  CHECK(strcmp(warm_kind_name(WARM_KIND_TEXT_ENCODER), "text_encoder") == 0);
  CHECK(warm_kind_parse("encoder") == 0);
  CHECK(strcmp(warm_kind_name(WARM_KIND_AUDIO_DECODER), "audio_decoder") == 0);
}

static void test_dtype_names_sizes_and_caps(void) {
  CHECK(warm_dtype_parse("f32") == WARM_F32);
  CHECK(warm_dtype_parse("BF16") == WARM_BF16);
  CHECK(warm_dtype_parse("fp8") == WARM_FP8_E4M3);
  CHECK(warm_dtype_parse("fp8_e4m3") == WARM_FP8_E4M3);
  CHECK(warm_dtype_parse("f16") == WARM_DTYPE_NONE); /* not a weight dtype */
  CHECK(warm_dtype_parse("int8") == WARM_DTYPE_NONE);
  CHECK(warm_dtype_parse(NULL) == WARM_DTYPE_NONE);
  CHECK(strcmp(warm_dtype_name(WARM_BF16), "bf16") == 0);
  CHECK(strcmp(warm_dtype_name(WARM_I64), "i64") == 0);
  CHECK(warm_dtype_name((warm_dtype)42) == NULL);
  CHECK(warm_dtype_size(WARM_F32) == 4 && warm_dtype_size(WARM_BF16) == 2 &&
        warm_dtype_size(WARM_FP8_E4M3) == 1 && warm_dtype_size(WARM_I64) == 8);
  CHECK(warm_dtype_size(WARM_DTYPE_NONE) == 0);
  CHECK(warm_dtype_cap(WARM_FP8_E4M3) == WARM_DTYPECAP_FP8);
  CHECK(warm_dtype_cap(WARM_I32) == 0);
}

static void test_device_parse_and_name(void) {
  warm_device d;
  char b[32];
  CHECK(warm_device_parse("cpu", &d) == 0 && d.type == WARM_DEVICE_CPU);
  CHECK(warm_device_parse("cuda", &d) == 0 && d.type == WARM_DEVICE_CUDA &&
        d.index == 0);
  CHECK(warm_device_parse("cuda:3", &d) == 0 && d.index == 3);
  CHECK(strcmp(warm_device_name(d, b, sizeof b), "cuda:3") == 0);
  static const char *bad[] = {
      "",        "gpu",     "cuda:", "cuda:-1",         "cuda:1x",
      "cuda: 1", "cuda:+1", "cpu0",  "cuda:99999999999"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    if (warm_device_parse(bad[i], &d) != WARM_EINVAL) {
      fprintf(stderr, "device_parse(\"%s\") accepted\n", bad[i]);
      check_failures++;
    }
  }
  d.type = WARM_DEVICE_CPU;
  CHECK(strcmp(warm_device_name(d, b, sizeof b), "cpu") == 0);
}

static void test_error_set_formats_and_allows_self_reference(void) {
  warm_error e;
  CHECK(warm_error_set(&e, WARM_EIO, "open %s: %d", "x.bin", 5) == WARM_EIO);
  CHECK(e.code == WARM_EIO && strcmp(e.msg, "open x.bin: 5") == 0);
  /* prefixing the message with itself as an argument */
  warm_error_set(&e, e.code, "model.so: %s", e.msg);
  CHECK(strcmp(e.msg, "model.so: open x.bin: 5") == 0);
  CHECK(warm_error_set(NULL, WARM_EINVAL, "ignored") == WARM_EINVAL);
  char big[2 * WARM_ERROR_MAX];
  memset(big, 'a', sizeof big - 1);
  big[sizeof big - 1] = 0;
  warm_error_set(&e, WARM_EINVAL, "%s", big);
  CHECK(strlen(e.msg) == WARM_ERROR_MAX - 1);
  warm_error_clear(&e);
  CHECK(e.code == 0 && e.msg[0] == 0);
  CHECK(strcmp(warm_strerror(WARM_ENOSPACE), "ENOSPACE") == 0);
  CHECK(strcmp(warm_strerror(-1000), "EUNKNOWN") == 0);
  CHECK(strlen(warm_sdk_version()) >= 5);
  CHECK(strcmp(warm_sdk_version(), WARM_SDK_VERSION) == 0);
}

static void test_tensor_alloc_numel_and_overflow(void) {
  warm_tensor t;
  int64_t shape[3] = {2, 3, 5};
  CHECK(warm_tensor_alloc(&t, "x", WARM_F32, 3, shape) == 0);
  CHECK(warm_tensor_numel(&t) == 30 && warm_tensor_bytes(&t) == 120);
  CHECK(t.data && t.scale == 1.0f && t.device.type == WARM_DEVICE_CPU);
  float *f = t.data;
  for (int i = 0; i < 30; i++)
    CHECK(f[i] == 0.0f);
  warm_tensor_free(&t);
  CHECK(t.data == NULL);
  warm_tensor_free(&t); /* twice is safe */

  int64_t zero[2] = {0, 7};
  CHECK(warm_tensor_alloc(&t, NULL, WARM_BF16, 2, zero) == 0);
  CHECK(t.data != NULL && warm_tensor_numel(&t) == 0);
  warm_tensor_free(&t);

  CHECK(warm_tensor_alloc(&t, NULL, WARM_F32, 0, NULL) == 0); /* scalar */
  CHECK(warm_tensor_numel(&t) == 1 && warm_tensor_bytes(&t) == 4);
  warm_tensor_free(&t);

  int64_t neg[1] = {-1};
  CHECK(warm_tensor_alloc(&t, NULL, WARM_F32, 1, neg) == WARM_EINVAL);
  CHECK(warm_tensor_alloc(&t, NULL, WARM_F32, 9, shape) == WARM_EINVAL);
  CHECK(warm_tensor_alloc(&t, NULL, WARM_DTYPE_NONE, 1, shape) == WARM_EINVAL);
  int64_t huge[2] = {INT64_MAX / 2, 4};
  CHECK(warm_tensor_alloc(&t, NULL, WARM_F32, 2, huge) == WARM_ENOMEM);
  CHECK(t.data == NULL);
  warm_tensor big = {.dtype = WARM_F32, .ndim = 2, .shape = {INT64_MAX, 2}};
  CHECK(warm_tensor_numel(&big) == INT64_MAX);
  CHECK(warm_tensor_bytes(&big) == 0);
}

int main(void) {
  RUN(test_placement_source_kind_names_round_trip);
  RUN(test_dtype_names_sizes_and_caps);
  RUN(test_device_parse_and_name);
  RUN(test_error_set_formats_and_allows_self_reference);
  RUN(test_tensor_alloc_numel_and_overflow);
  return check_result();
}
