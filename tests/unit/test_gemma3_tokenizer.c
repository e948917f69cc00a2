/*
 * test_gemma3_tokenizer.c — the SentencePiece shim against HF's tokenizer
 * (transformers' GemmaTokenizerFast, i.e. the Rust `tokenizers` library, not
 * the sentencepiece library the plugin wraps; goldens in
 * tests/data/gemma3/tokenizer.json), and the prompt rules: BOS, left
 * padding, mask, truncation (also the parity prompts' ids as HF padded
 * and truncated them), invalid UTF-8, empty. A golden case marked
 * "diverges" is a documented difference from HF: there the plugin must give
 * the "sentencepiece_ids", and HF's ids must really differ.
 */
#include <jansson.h>

#include "test_gemma3_util.h"
#include "warm/safetensors.h"

#define TOK_PATH                                                               \
  WARM_SOURCE_DIR "/sdk/tools/warm-mkmodel/data/gemma3-tokenizer.model"

static int same_ids(const int32_t *ids, size_t n, json_t *want) {
  int same = n == json_array_size(want);
  for (size_t k = 0; same && k < n; k++)
    same = ids[k] == json_integer_value(json_array_get(want, k));
  return same;
}

static void test_pieces_match_hf_tokenizer(g3_tok *tok) {
  json_error_t je;
  json_t *root =
      json_load_file(WARM_TEST_DATA "/gemma3/tokenizer.json", 0, &je);
  G3T_CHECK(root, "tokenizer.json: %s", je.text);
  json_t *cases = json_object_get(root, "cases");
  G3T_CHECK(json_array_size(cases) >= 8, "tricky strings present");
  for (size_t i = 0; i < json_array_size(cases); i++) {
    json_t *c = json_array_get(cases, i);
    const char *text = json_string_value(json_object_get(c, "text"));
    json_t *hf = json_object_get(c, "ids");
    const char *why = json_string_value(json_object_get(c, "diverges"));
    json_t *want = why ? json_object_get(c, "sentencepiece_ids") : hf;
    G3T_CHECK(json_is_array(hf) && json_is_array(want), "case %zu: ids", i);
    int32_t *ids;
    size_t n;
    warm_error err = {0};
    G3T_CHECK(g3_tok_encode(tok, text, &ids, &n, &err) == 0, "%s", err.msg);
    G3T_CHECK(same_ids(ids, n, want), "case %zu (\"%.40s\"): %zu pieces, %s %zu",
              i, text, n, why ? "sentencepiece" : "HF", json_array_size(want));
    if (why) {
      G3T_CHECK(!same_ids(ids, n, hf),
                "case %zu (\"%.40s\") is marked as diverging from HF but "
                "matches it: drop the mark",
                i, text);
      printf("case %zu differs from HF by design: %s\n", i, why);
    }
    free(ids);
  }
  json_decref(root);
}

/* The whole prompt path (BOS, left padding, truncation to max_tokens)
 * against the ids HF's tokenizer gave for the parity prompts, stored with
 * the parity goldens (p<i>.ids, p<i>.mask). */
static void test_parity_prompts_match_hf_ids(g3_tok *tok) {
  json_error_t je;
  json_t *root =
      json_load_file(WARM_TEST_DATA "/gemma3/parity.json", 0, &je);
  G3T_CHECK(root, "parity.json: %s", je.text);
  json_t *cfgs = json_object_get(root, "configs");
  size_t checked = 0;
  for (size_t c = 0; c < json_array_size(cfgs); c++) {
    json_t *cfg = json_array_get(cfgs, c);
    const char *name = json_string_value(json_object_get(cfg, "name"));
    uint32_t T = (uint32_t)json_integer_value(json_object_get(cfg, "max_tokens"));
    json_t *prompts = json_object_get(cfg, "prompts");
    char path[1024];
    snprintf(path, sizeof path, "%s/gemma3/%s.safetensors", WARM_TEST_DATA,
             name);
    warm_st *st = NULL;
    warm_error err = {0};
    G3T_CHECK(warm_st_open(path, &st, &err) == 0, "%s", err.msg);
    if (!st) continue;
    for (size_t i = 0; i < json_array_size(prompts); i++) {
      const char *text = json_string_value(json_array_get(prompts, i));
      char tn[32];
      warm_tensor ids, mask;
      snprintf(tn, sizeof tn, "p%zu.ids", i);
      int ok = warm_st_get(st, tn, &ids, &err) == 0;
      snprintf(tn, sizeof tn, "p%zu.mask", i);
      ok = ok && warm_st_get(st, tn, &mask, &err) == 0;
      G3T_CHECK(ok && warm_tensor_numel(&ids) == T, "%s p%zu: %s", name, i,
                err.msg);
      if (!ok || warm_tensor_numel(&ids) != T) continue;
      g3_prompt p;
      G3T_CHECK(g3_prompt_make(tok, text, T, 2, 0, &p, &err) == 0, "%s",
                err.msg);
      G3T_CHECK(!memcmp(p.ids, ids.data, T * sizeof(int32_t)) &&
                    !memcmp(p.mask, mask.data, T * sizeof(int32_t)),
                "%s p%zu: ids or mask differ from HF's", name, i);
      g3_prompt_free(&p);
      checked++;
    }
    warm_st_close(st);
  }
  G3T_CHECK(checked >= 5, "%zu parity prompts checked", checked);
  json_decref(root);
}

static void test_prompt_is_bos_plus_pieces_left_padded(g3_tok *tok) {
  warm_error err = {0};
  int32_t *pieces;
  size_t np;
  const char *text = "A red fox runs across the snow.";
  G3T_CHECK(g3_tok_encode(tok, text, &pieces, &np, &err) == 0, "%s", err.msg);
  g3_prompt p;
  G3T_CHECK(g3_prompt_make(tok, text, 40, 2, 0, &p, &err) == 0, "%s", err.msg);
  uint32_t first = 40 - (uint32_t)np - 1;
  G3T_CHECK(p.n_real == np + 1 && p.n_dropped == 0, "n_real %u", p.n_real);
  for (uint32_t t = 0; t < first; t++)
    G3T_CHECK(p.ids[t] == 0 && p.mask[t] == 0, "pad at %u", t);
  G3T_CHECK(p.ids[first] == 2 && p.mask[first] == 1, "BOS after the pads");
  for (size_t k = 0; k < np; k++)
    G3T_CHECK(p.ids[first + 1 + k] == pieces[k] && p.mask[first + 1 + k] == 1,
              "piece %zu", k);
  g3_prompt_free(&p);
  free(pieces);
}

static void test_long_prompt_keeps_first_pieces(g3_tok *tok) {
  warm_error err = {0};
  char text[2048] = "";
  for (int i = 0; i < 60; i++)
    strcat(text, "tall pines ");
  int32_t *pieces;
  size_t np;
  G3T_CHECK(g3_tok_encode(tok, text, &pieces, &np, &err) == 0, "%s", err.msg);
  G3T_CHECK(np > 16, "long enough");
  g3_prompt p;
  G3T_CHECK(g3_prompt_make(tok, text, 16, 2, 0, &p, &err) == 0, "%s", err.msg);
  G3T_CHECK(p.n_real == 16 && p.n_dropped == np - 15, "kept 15 + BOS");
  G3T_CHECK(p.ids[0] == 2, "BOS first, no padding");
  for (int k = 0; k < 15; k++)
    G3T_CHECK(p.ids[1 + k] == pieces[k], "the first pieces are kept (%d)", k);
  g3_prompt_free(&p);
  free(pieces);
}

static void test_bad_prompts_are_refused(g3_tok *tok) {
  static const char *bad[] = {
      "abc\xff",      "\xc0\xaf",         "\xed\xa0\x80 surrogate",
      "cut \xe2\x82", "\xf4\x90\x80\x80",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    g3_prompt p;
    warm_error err = {0};
    int rc = g3_prompt_make(tok, bad[i], 16, 2, 0, &p, &err);
    G3T_CHECK(rc == WARM_EINVAL && strstr(err.msg, "UTF-8"),
              "invalid UTF-8 case %zu: rc %d, \"%s\"", i, rc, err.msg);
  }
  g3_prompt p;
  warm_error err = {0};
  int rc = g3_prompt_make(tok, "", 16, 2, 0, &p, &err);
  G3T_CHECK(rc == 0 && p.n_real == 1 && p.ids[15] == 2 && p.mask[15] == 1 &&
                p.mask[14] == 0 && p.ids[14] == 0,
            "empty prompt is BOS alone: %s", err.msg);
  if (rc == 0) g3_prompt_free(&p);
  G3T_CHECK(g3_prompt_make(tok, "ok", 1, 2, 0, &p, &err) == WARM_EINVAL,
            "max_tokens 1 refused");
  size_t at = 99;
  G3T_CHECK(g3_utf8_valid("h\xc3\xa9llo \xf0\x9f\xa6\x8a", 11, &at) == 1,
            "valid UTF-8 accepted");
  G3T_CHECK(g3_utf8_valid("ab\x80", 3, &at) == 0 && at == 2,
            "bad byte offset reported (%zu)", at);
}

int main(void) {
  g3_tok *tok = NULL;
  warm_error err = {0};
  if (g3_tok_open(TOK_PATH, &tok, &err) != 0) {
    fprintf(stderr, "FAIL: %s\n", err.msg);
    return 1;
  }
  G3T_CHECK(g3_tok_vocab(tok) == 640, "vocab %d", g3_tok_vocab(tok));
  test_pieces_match_hf_tokenizer(tok);
  test_parity_prompts_match_hf_ids(tok);
  test_prompt_is_bos_plus_pieces_left_padded(tok);
  test_long_prompt_keeps_first_pieces(tok);
  test_bad_prompts_are_refused(tok);
  g3_tok_close(tok);
  g3_tok *none = NULL;
  G3T_CHECK(g3_tok_open("/nonexistent/tokenizer.model", &none, &err) ==
                    WARM_EIO &&
                strstr(err.msg, "/nonexistent/tokenizer.model"),
            "missing tokenizer: %s", err.msg);
  if (g3t_failures) {
    fprintf(stderr, "%d failures\n", g3t_failures);
    return 1;
  }
  printf("ok\n");
  return 0;
}
