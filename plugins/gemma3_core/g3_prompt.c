/*
 * g3_prompt.c — a prompt into the ids and mask Gemma sees: BOS + pieces,
 * left padded with pad_id to max_tokens (the reference pipeline's
 * padding_side="left", padding="max_length"). An empty prompt is BOS
 * alone, as HF's tokenizer gives it.
 */
#include <stdlib.h>
#include <string.h>

#include "g3.h"

int g3_utf8_valid(const char *str, size_t n, size_t *bad_at) {
  const unsigned char *s = (const unsigned char *)str;
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t len;
    uint32_t cp, min;
    if (c < 0x80) {
      i++;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      goto bad;
    }
    if (i + len > n) goto bad;
    for (size_t k = 1; k < len; k++) {
      if ((s[i + k] & 0xC0) != 0x80) goto bad;
      cp = (cp << 6) | (s[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) goto bad;
    i += len;
  }
  return 1;
bad:
  if (bad_at) *bad_at = i;
  return 0;
}

int g3_prompt_make(g3_tok *tok, const char *prompt, uint32_t max_tokens,
                   int32_t bos_id, int32_t pad_id, g3_prompt *out,
                   warm_error *err) {
  memset(out, 0, sizeof *out);
  if (!prompt) return warm_error_set(err, WARM_EINVAL, "prompt: missing");
  size_t len = strlen(prompt);
  size_t bad = 0;
  if (!g3_utf8_valid(prompt, len, &bad))
    return warm_error_set(err, WARM_EINVAL,
                          "prompt: not valid UTF-8 (byte %zu, 0x%02x)", bad,
                          (unsigned)(unsigned char)prompt[bad]);
  if (max_tokens < 2)
    return warm_error_set(err, WARM_EINVAL,
                          "max_tokens %u: must be at least 2 (BOS + one "
                          "token)",
                          max_tokens);
  int32_t *pieces = NULL;
  size_t np = 0;
  int rc = g3_tok_encode(tok, prompt, &pieces, &np, err);
  if (rc) return rc;
  size_t keep = np;
  if (keep > max_tokens - 1) keep = max_tokens - 1;
  out->T = max_tokens;
  out->ids = malloc(max_tokens * sizeof(int32_t));
  out->mask = malloc(max_tokens * sizeof(int32_t));
  if (!out->ids || !out->mask) {
    free(pieces);
    g3_prompt_free(out);
    return warm_error_set(err, WARM_ENOMEM, "out of memory");
  }
  uint32_t n_real = (uint32_t)keep + 1, first = max_tokens - n_real;
  for (uint32_t t = 0; t < first; t++) {
    out->ids[t] = pad_id;
    out->mask[t] = 0;
  }
  out->ids[first] = bos_id;
  out->mask[first] = 1;
  for (size_t k = 0; k < keep; k++) {
    out->ids[first + 1 + k] = pieces[k];
    out->mask[first + 1 + k] = 1;
  }
  out->n_real = n_real;
  out->n_dropped = (uint32_t)(np - keep);
  free(pieces);
  return 0;
}

void g3_prompt_free(g3_prompt *p) {
  free(p->ids);
  free(p->mask);
  p->ids = p->mask = NULL;
}
