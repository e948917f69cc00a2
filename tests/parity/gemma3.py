#!/usr/bin/env python3
"""Golden outputs of HF transformers' Gemma-3 text model for the warmd plugin.

For each parity config in tests/data/gemma3/parity.json this script

  1. gets a tiny random checkpoint folder: written by warm-mkmodel
     (--mkmodel PATH, the same command line ctest runs, so CI rebuilds the
     folder bit for bit without Python), or by this script itself through HF
     save_pretrained (--writer hf, for when no warm-mkmodel is at hand);
  2. loads it with HF (Gemma3TextModel, or Gemma3ForConditionalGeneration for
     the multimodal prefixes), tokenizes each prompt with HF's fast Gemma
     tokenizer (GemmaTokenizerFast over the same tokenizer.model, as
     ltx-core's AutoTokenizer: BOS + pieces, truncated to max_tokens, left
     padded),
     runs HF's default call model(input_ids=..., attention_mask=...) in f32
     and writes tests/data/gemma3/<config>.safetensors:
       p<i>.ids i32 [T], p<i>.mask i32 [T],
       p<i>.hidden f32 [T, C] (output=last) or [L+1, T, C] (output=all).

It also writes tests/data/gemma3/tokenizer.json: tricky strings and the ids
HF's tokenizer gives for them ("ids"; the Rust `tokenizers` library, not the
sentencepiece library the plugin wraps). Where the sentencepiece package
disagrees, the case also holds "sentencepiece_ids" and "diverges" (why), and
test_gemma3_tokenizer expects the plugin's documented behaviour there.

Needs protobuf besides transformers (GemmaTokenizerFast converts the
.model file through it): pip install protobuf.

Usage:
  python3 tests/parity/gemma3.py --mkmodel build/bin/warm-mkmodel
  python3 tests/parity/gemma3.py --writer hf --ckpt-dir /tmp/g3ckpt
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import torch
import sentencepiece as spm
from safetensors.torch import load_file, save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data", "gemma3")
TOKENIZER = os.path.join(ROOT, "sdk", "tools", "warm-mkmodel", "data", "gemma3-tokenizer.model")

TRICKY = [
    "A red fox runs across the snow.",
    "",
    " ",
    "   leading and trailing   ",
    "two  spaces,\tone tab,\n\nnewlines\r\n",
    "héllo wörld — ça va? Ελληνικά, русский, 東京タワー, 한국어",
    "emoji: 🦊🎬 👩‍👩‍👧 🏳️‍🌈 and flags 🇫🇷",
    "digits 1234567890 and 3.14159",
    "<bos> <pad> literal specials",
    "\u00a0non-breaking\u2009thin\u200bzero-width",
    "a" * 200,
]


def prefix_of(layout):
    return {"text": "model.", "multimodal": "model.language_model.",
            "legacy": "language_model.model."}[layout]


def text_config_dict(cfg):
    """HF Gemma3TextConfig keys for one parity config."""
    m = cfg["model"]
    d = {
        "vocab_size": m["vocab_size"],
        "hidden_size": m["hidden_size"],
        "intermediate_size": m["intermediate_size"],
        "num_hidden_layers": m["num_hidden_layers"],
        "num_attention_heads": m["num_attention_heads"],
        "num_key_value_heads": m["num_key_value_heads"],
        "head_dim": m["head_dim"],
        "sliding_window": m["sliding_window"],
        "layer_types": m["layer_types"],
        "query_pre_attn_scalar": m["query_pre_attn_scalar"],
        "rms_norm_eps": m.get("rms_norm_eps", 1e-6),
        "rope_parameters": {
            "sliding_attention": {"rope_type": "default", "rope_theta": m["rope_local_base_freq"]},
            "full_attention": ({"rope_type": "linear", "factor": m["rope_factor"],
                                "rope_theta": m["rope_theta"]}
                               if m["rope_factor"] != 1.0 else
                               {"rope_type": "default", "rope_theta": m["rope_theta"]}),
        },
        "max_position_embeddings": 4096,
        "pad_token_id": 0, "bos_token_id": 2, "eos_token_id": 1,
    }
    return d


def write_hf(cfg, out, seed):
    """A checkpoint folder through HF save_pretrained, random weights."""
    from transformers import (Gemma3Config, Gemma3ForCausalLM,
                              Gemma3ForConditionalGeneration, Gemma3TextConfig)
    torch.manual_seed(seed)
    tc = Gemma3TextConfig(**text_config_dict(cfg))
    if cfg["layout"] == "text":
        # The text-only checkpoints on the Hub are Gemma3ForCausalLM:
        # "model." names, lm_head tied to the embedding table (not saved).
        model = Gemma3ForCausalLM(tc)
    else:
        vision = {"model_type": "siglip_vision_model", "hidden_size": 16, "intermediate_size": 32,
                  "num_hidden_layers": 1, "num_attention_heads": 2, "image_size": 16,
                  "patch_size": 8}
        model = Gemma3ForConditionalGeneration(
            Gemma3Config(text_config=tc.to_dict(), vision_config=vision, mm_tokens_per_image=4))
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 1:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
            else:
                p.copy_(torch.randn(p.shape, generator=g) / (p.shape[-1] ** 0.5))
    if os.path.exists(out):
        shutil.rmtree(out)
    model.save_pretrained(out, safe_serialization=True)
    if cfg["layout"] == "legacy":
        rename_legacy(out)
    shutil.copy(TOKENIZER, os.path.join(out, "tokenizer.model"))


def rename_legacy(out):
    """The pre-5.x multimodal names, language_model.model.* for the text
    model (many checkpoints on the Hub still use them). ctest's fixture
    renames the same way."""
    for fn in sorted(os.listdir(out)):
        if not fn.endswith(".safetensors"):
            continue
        path = os.path.join(out, fn)
        sd = load_file(path)
        ren = {}
        for k, v in sd.items():
            if k.startswith("model.language_model."):
                k = "language_model.model." + k[len("model.language_model."):]
            ren[k] = v.contiguous()
        save_file(ren, path, metadata={"format": "pt"})


def write_mkmodel(cfg, out, mkmodel):
    if os.path.exists(out):
        shutil.rmtree(out)
    args = [mkmodel] + cfg["mkmodel_args"] + ["--out", out]
    subprocess.run(args, check=True)
    if cfg["layout"] == "legacy":
        rename_legacy(out)


def load_hf(cfg, path):
    from transformers import Gemma3ForCausalLM, Gemma3ForConditionalGeneration
    if cfg["layout"] == "text":
        # The checkpoint names are Gemma3ForCausalLM's ("model." prefix);
        # Gemma3TextModel.from_pretrained does not strip that prefix in every
        # transformers release and would silently keep random weights.
        m = Gemma3ForCausalLM.from_pretrained(path, torch_dtype=torch.float32)
        return m.eval(), m.model
    m = Gemma3ForConditionalGeneration.from_pretrained(path, torch_dtype=torch.float32)
    return m.eval(), m.model.language_model


def hf_tokenizer():
    from transformers import GemmaTokenizerFast
    tok = GemmaTokenizerFast(vocab_file=TOKENIZER)
    tok.padding_side = "left"
    return tok


def tokenize(tok, prompt, T):
    enc = tok(prompt, padding="max_length", max_length=T, truncation=True)
    return enc["input_ids"], enc["attention_mask"]


def check_loaded(cfg, path, text):
    """Every weight HF holds is the checkpoint's (no silent random init)."""
    from safetensors.torch import load_file as load_st
    prefix = prefix_of(cfg["layout"])
    want = {}
    for fn in sorted(os.listdir(path)):
        if fn.endswith(".safetensors"):
            want.update(load_st(os.path.join(path, fn)))
    for name, p in text.state_dict().items():
        key = prefix + name
        if key not in want:
            sys.exit(f"{cfg['name']}: HF holds {name}, the checkpoint has no {key}")
        if not torch.equal(want[key].float(), p.float()):
            sys.exit(f"{cfg['name']}: {name} differs from the checkpoint's {key}")


def goldens(cfg, path, tok):
    _, text = load_hf(cfg, path)
    check_loaded(cfg, path, text)
    T = cfg["max_tokens"]
    out = {}
    for i, prompt in enumerate(cfg["prompts"]):
        ids, mask = tokenize(tok, prompt, T)
        with torch.no_grad():
            o = text(input_ids=torch.tensor([ids]), attention_mask=torch.tensor([mask]),
                     output_hidden_states=cfg["output"] == "all")
        if cfg["output"] == "all":
            hid = torch.stack([h[0] for h in o.hidden_states])
        else:
            hid = o.last_hidden_state[0]
        out[f"p{i}.ids"] = torch.tensor(ids, dtype=torch.int32)
        out[f"p{i}.mask"] = torch.tensor(mask, dtype=torch.int32)
        out[f"p{i}.hidden"] = hid.float().contiguous()
        print(f"  {cfg['name']} p{i}: {sum(mask)} tokens of {T}, hidden {tuple(hid.shape)}")
    save_file(out, os.path.join(DATA, cfg["name"] + ".safetensors"),
              metadata={"config": cfg["name"], "output": cfg["output"]})


# Where the plugin (sentencepiece) knowingly differs from HF.
DIVERGES = {
    "<bos> <pad> literal specials":
        "HF reads special-token text in a prompt as the special token; the "
        "plugin's sentencepiece encodes it as literal text",
}


def tokenizer_goldens(tok, sp):
    cases = []
    for s in TRICKY:
        c = {"text": s, "ids": tok(s, add_special_tokens=False)["input_ids"]}
        sp_ids = sp.encode(s)
        if sp_ids != c["ids"]:
            if s not in DIVERGES:
                sys.exit(f"HF and sentencepiece disagree on {s!r}: add it to DIVERGES with why")
            c["sentencepiece_ids"] = sp_ids
            c["diverges"] = DIVERGES[s]
        cases.append(c)
    with open(os.path.join(DATA, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump({"model": "sdk/tools/warm-mkmodel/data/gemma3-tokenizer.model",
                   "ids_from": "transformers GemmaTokenizerFast (tokenizers)",
                   "cases": cases}, f, ensure_ascii=False, indent=1)
        f.write("\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mkmodel", help="path of warm-mkmodel (writes the checkpoints)")
    ap.add_argument("--writer", choices=["mkmodel", "hf"], default=None)
    ap.add_argument("--ckpt-dir", default="/tmp/warm-gemma3-parity")
    ap.add_argument("--only", help="one config name")
    args = ap.parse_args()
    writer = args.writer or ("mkmodel" if args.mkmodel else "hf")
    with open(os.path.join(DATA, "parity.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    sp = spm.SentencePieceProcessor(model_file=TOKENIZER)
    tok = hf_tokenizer()
    tokenizer_goldens(tok, sp)
    for cfg in manifest["configs"]:
        if args.only and cfg["name"] != args.only:
            continue
        path = os.path.join(args.ckpt_dir, cfg["name"])
        if writer == "mkmodel":
            write_mkmodel(cfg, path, args.mkmodel)
        else:
            write_hf(cfg, path, cfg["seed"])
        goldens(cfg, path, tok)
    return 0


if __name__ == "__main__":
    sys.exit(main())
