/*
 * fuzz_config — arbitrary bytes through inih into the config builder
 * (wh_config_parse), then through the renderers. Must never crash, leak or
 * trip a sanitizer; every input gives either a config or errors.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  wh_config *c = NULL;
  if (wh_config_parse("/fuzz/dir/warmd.ini", (const char *)data, size, &c))
    return 0;
  if (c->n_errors == 0) {
    /* A config that parsed renders, and its rendering parses cleanly. */
    char *text = wh_config_render(c);
    if (text) {
      wh_config *again = NULL;
      if (wh_config_parse("/fuzz/dir/again.ini", text, strlen(text), &again) ==
          0) {
        if (again->n_errors) abort(); /* render produced an invalid file */
        wh_config_free(again);
      }
      free(text);
    }
    json_decref(wh_config_json(c));
  }
  wh_config_free(c);
  return 0;
}
