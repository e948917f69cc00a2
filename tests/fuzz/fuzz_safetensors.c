/* libFuzzer target: the safetensors header parser and validator on an
 * in-memory image. Every accepted tensor's bytes are read end to end, so a
 * span the validator let through outside the buffer shows up under ASan. */
#include <stddef.h>
#include <stdint.h>

#include "warm/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  warm_st *st = NULL;
  warm_error err;
  if (warm_st_open_buffer(data, size, "fuzz", &st, &err) != 0) return 0;
  volatile uint8_t sink = 0;
  for (size_t i = 0; i < warm_st_count(st); i++) {
    const warm_st_entry *e = warm_st_at(st, i);
    const uint8_t *p = e->data;
    for (uint64_t b = 0; b < e->nbytes; b++) sink ^= p[b];
    if (warm_st_find(st, e->name) != e) __builtin_trap();
    warm_tensor t;
    (void)warm_st_get(st, e->name, &t, &err);
  }
  for (size_t i = 0; i < warm_st_metadata_count(st); i++) {
    const char *k, *v;
    warm_st_metadata_at(st, i, &k, &v);
    if (warm_st_metadata(st, k) == NULL) __builtin_trap();
  }
  (void)sink;
  warm_st_close(st);
  return 0;
}
