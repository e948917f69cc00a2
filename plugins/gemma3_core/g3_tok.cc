/*
 * g3_tok.cc — the thin C shim over libsentencepiece (C++). No exception
 * leaves this file: every failure becomes a warm_error.
 */
#include <cstdlib>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#include <sentencepiece_processor.h>

#include "g3.h"

struct g3_tok {
  sentencepiece::SentencePieceProcessor sp;
};

extern "C" int g3_tok_open(const char *path, g3_tok **out, warm_error *err) {
  *out = nullptr;
  g3_tok *t = new (std::nothrow) g3_tok;
  if (!t) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  try {
    auto st = t->sp.Load(path);
    if (!st.ok()) {
      std::string msg = st.ToString();
      delete t;
      return warm_error_set(err, WARM_EIO, "tokenizer %s: %s", path,
                            msg.c_str());
    }
  } catch (...) {
    delete t;
    return warm_error_set(err, WARM_EFORMAT, "tokenizer %s: cannot load", path);
  }
  *out = t;
  return 0;
}

extern "C" void g3_tok_close(g3_tok *t) {
  delete t;
}

extern "C" int32_t g3_tok_vocab(const g3_tok *t) {
  return static_cast<int32_t>(t->sp.GetPieceSize());
}

extern "C" int g3_tok_encode(g3_tok *t, const char *text, int32_t **ids,
                             size_t *n, warm_error *err) {
  *ids = nullptr;
  *n = 0;
  std::vector<int> v;
  try {
    auto st = t->sp.Encode(text, &v);
    if (!st.ok())
      return warm_error_set(err, WARM_EINVAL, "tokenizer: %s",
                            st.ToString().c_str());
  } catch (...) {
    return warm_error_set(err, WARM_ENOMEM, "tokenizer: encode failed");
  }
  int32_t *a = static_cast<int32_t *>(malloc((v.size() + 1) * sizeof *a));
  if (!a) return warm_error_set(err, WARM_ENOMEM, "out of memory");
  for (size_t i = 0; i < v.size(); i++)
    a[i] = v[i];
  *ids = a;
  *n = v.size();
  return 0;
}
