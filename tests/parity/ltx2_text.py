#!/usr/bin/env python3
"""Golden contexts of LTX-2's text conditioning for text_encoder_ltx2.

For each config in tests/data/ltx2/text_parity.json (2.0 = FeatureExtractorV1,
2.3 = FeatureExtractorV2 with gated connectors; v20i is 2.0 with the
interleaved RoPE and the float32 frequency grid) this script

  1. gets the tiny checkpoints: the Gemma-3 folder from
     `warm-mkmodel --arch gemma3 --preset tiny` and the combined LTX-2 file
     from `warm-mkmodel --arch ltx2 --variant V --preset tiny` (the command
     lines ctest runs, so CI rebuilds both bit for bit without Python); with
     --writer py the combined file is written here instead (text side only:
     the projection, both connectors and the config metadata), for when no
     ltx2-capable warm-mkmodel is at hand;
  2. runs HF transformers' Gemma3TextModel (Gemma3ForCausalLM.model) in f32 with output_hidden_states
     on each prompt, tokenized as ltx-core does: str.strip(), BOS + pieces
     (the sentencepiece model the folder ships), the first T-1 pieces kept,
     left padded with id 0;
  3. builds ltx-core 1.0.0's EmbeddingsProcessor: the feature extractor
     constructed directly with the dims of the files (its configurator
     hard-codes Gemma-3-12B's 3840 x 49), the two connectors through
     ltx-core's own configurators from the file's config metadata, weights
     loaded from the combined file through EMBEDDINGS_PROCESSOR_KEY_OPS
     (strict), all in f32; then process_hidden_states(hidden_states, mask);
  4. writes tests/data/ltx2/text_<variant>.safetensors:
       p<i>.ids i32 [T], p<i>.mask i32 [T] (Gemma's attention mask),
       p<i>.video f32 [T, Cv], p<i>.audio f32 [T, Ca],
     with the prompts and T in the metadata.

Usage (from the repository root, with ltx-core importable):
  PYTHONPATH=tests/parity/pystub python3 tests/parity/ltx2_text.py --mkmodel build/bin/warm-mkmodel
  PYTHONPATH=tests/parity/pystub python3 tests/parity/ltx2_text.py --mkmodel build/bin/warm-mkmodel --writer py
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

import torch
import sentencepiece as spm
from safetensors.torch import save_file

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DATA = os.path.join(ROOT, "tests", "data", "ltx2")


def run(args):
    subprocess.run(args, check=True)


def write_py_combined(path, variant, D, S, seed):
    """A combined file holding only what the text side reads, with the
    reference's key names and a config like warm-mkmodel's tiny preset."""
    g = torch.Generator().manual_seed(seed)

    def randn(*shape, std=0.05):
        return (torch.randn(shape, generator=g) * std).float().contiguous()

    v2 = variant == "2.3"
    t = {
        "rope_type": "split",
        "frequencies_precision": "float64",
        "connector_positional_embedding_max_pos": [4096],
        "connector_num_layers": 2,
        "connector_num_attention_heads": 2,
        "connector_attention_head_dim": 8 if v2 else D // 2,
        "connector_apply_gated_attention": v2,
        "num_attention_heads": 2, "attention_head_dim": 8,
        "audio_num_attention_heads": 2, "audio_attention_head_dim": 4,
        "caption_channels": D,
    }
    if v2:
        t.update({"audio_connector_num_attention_heads": 2,
                  "audio_connector_attention_head_dim": 4,
                  "audio_connector_num_layers": 2,
                  "caption_proj_before_connector": True,
                  "caption_projection_first_linear": False,
                  "caption_proj_input_norm": False,
                  "caption_projection_second_linear": False})
    sd = {}
    if v2:
        for m, C in (("video", 16), ("audio", 8)):
            sd[f"text_embedding_projection.{m}_aggregate_embed.weight"] = randn(C, D * S)
            sd[f"text_embedding_projection.{m}_aggregate_embed.bias"] = randn(C)
    else:
        sd["text_embedding_projection.aggregate_embed.weight"] = randn(D, D * S)
    for m in ("video", "audio"):
        if v2:
            H, hd = (2, 8) if m == "video" else (2, 4)
        else:
            H, hd = 2, D // 2
        C = H * hd
        p = f"model.diffusion_model.{m}_embeddings_connector."
        sd[p + "learnable_registers"] = (torch.rand((128, C), generator=g) * 2 - 1).contiguous()
        for b in range(2):
            q = f"{p}transformer_1d_blocks.{b}."
            for n in ("to_q", "to_k", "to_v", "to_out.0"):
                sd[q + f"attn1.{n}.weight"] = randn(C, C, std=C ** -0.5)
                sd[q + f"attn1.{n}.bias"] = randn(C)
            sd[q + "attn1.q_norm.weight"] = 1 + randn(C, std=0.1)
            sd[q + "attn1.k_norm.weight"] = 1 + randn(C, std=0.1)
            if v2:
                sd[q + "attn1.to_gate_logits.weight"] = randn(H, C, std=0.5)
                sd[q + "attn1.to_gate_logits.bias"] = randn(H)
            sd[q + "ff.net.0.proj.weight"] = randn(4 * C, C, std=C ** -0.5)
            sd[q + "ff.net.0.proj.bias"] = randn(4 * C)
            sd[q + "ff.net.2.weight"] = randn(C, 4 * C, std=(4 * C) ** -0.5)
            sd[q + "ff.net.2.bias"] = randn(C)
    meta = {"config": json.dumps({"transformer": t}),
            "model_version": "2.3.0" if v2 else "2.0.0"}
    save_file(sd, path, metadata=meta)


def tokenize(sp, prompt, T):
    pieces = sp.encode(prompt.strip())[: T - 1]
    real = [2] + pieces
    pad = T - len(real)
    return [0] * pad + real, [0] * pad + [1] * len(real)


def build_processor(ltx_path, D, S):
    from ltx_core.loader.sft_loader import SafetensorsModelStateDictLoader
    from ltx_core.text_encoders.gemma.embeddings_connector import (
        AudioEmbeddings1DConnectorConfigurator, Embeddings1DConnectorConfigurator)
    from ltx_core.text_encoders.gemma.embeddings_processor import EmbeddingsProcessor
    from ltx_core.text_encoders.gemma.encoders.encoder_configurator import (
        EMBEDDINGS_PROCESSOR_KEY_OPS, _V2_EXPECTED_CONFIG)
    from ltx_core.text_encoders.gemma.feature_extractor import (
        FeatureExtractorV1, FeatureExtractorV2)

    loader = SafetensorsModelStateDictLoader()
    config = loader.metadata(ltx_path)
    t = config["transformer"]
    if t.keys() & _V2_EXPECTED_CONFIG.keys():
        cv = t["num_attention_heads"] * t["attention_head_dim"]
        ca = t["audio_num_attention_heads"] * t["audio_attention_head_dim"]
        fe = FeatureExtractorV2(torch.nn.Linear(D * S, cv, bias=True), D,
                                torch.nn.Linear(D * S, ca, bias=True))
    else:
        fe = FeatureExtractorV1(torch.nn.Linear(D * S, D, bias=False), is_av=True)
    proc = EmbeddingsProcessor(
        feature_extractor=fe,
        video_connector=Embeddings1DConnectorConfigurator.from_config(config),
        audio_connector=AudioEmbeddings1DConnectorConfigurator.from_config(config))
    sd = loader.load(ltx_path, sd_ops=EMBEDDINGS_PROCESSOR_KEY_OPS).sd
    sd = {k: v.float() for k, v in sd.items()}
    # f32 before loading: the connector creates its registers in bf16, and
    # load_state_dict would round the file's values into that parameter
    # (ltx-core's builder loads with assign=True, keeping the file's dtype).
    proc = proc.float()
    proc.load_state_dict(sd, strict=True)
    return proc.eval()


def goldens(cfg, gemma_dir, ltx_path, sp):
    from transformers import Gemma3ForCausalLM
    # warm-mkmodel writes the Hub's text-only layout (Gemma3ForCausalLM,
    # "model." names); its .model is the Gemma3TextModel ltx-core runs.
    gemma = Gemma3ForCausalLM.from_pretrained(gemma_dir, dtype=torch.float32).model.eval()
    D = gemma.config.hidden_size
    S = gemma.config.num_hidden_layers + 1
    proc = build_processor(ltx_path, D, S)
    T = cfg["max_tokens"]
    out = {}
    for i, prompt in enumerate(cfg["prompts"]):
        ids, mask = tokenize(sp, prompt, T)
        ids_t, mask_t = torch.tensor([ids]), torch.tensor([mask])
        with torch.no_grad():
            o = gemma(input_ids=ids_t, attention_mask=mask_t, output_hidden_states=True)
            r = proc.process_hidden_states(tuple(o.hidden_states), mask_t, padding_side="left")
        assert len(o.hidden_states) == S
        assert int(r.attention_mask.sum()) == T, "the reference's output mask is all ones"
        out[f"p{i}.ids"] = torch.tensor(ids, dtype=torch.int32)
        out[f"p{i}.mask"] = torch.tensor(mask, dtype=torch.int32)
        out[f"p{i}.video"] = r.video_encoding[0].float().contiguous()
        out[f"p{i}.audio"] = r.audio_encoding[0].float().contiguous()
        print(f"  {cfg['name']} p{i}: {sum(mask)} tokens of {T}, video "
              f"{tuple(r.video_encoding.shape)}, audio {tuple(r.audio_encoding.shape)}")
    save_file(out, os.path.join(DATA, f"text_{cfg['name']}.safetensors"),
              metadata={"variant": cfg["variant"], "max_tokens": str(T),
                        "prompts": json.dumps(cfg["prompts"], ensure_ascii=False)})


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mkmodel", required=True, help="path of warm-mkmodel")
    ap.add_argument("--writer", choices=["mkmodel", "py"], default="mkmodel",
                    help="who writes the combined LTX-2 file")
    ap.add_argument("--ckpt-dir", default="/tmp/warm-ltx2-text-parity")
    args = ap.parse_args()
    with open(os.path.join(DATA, "text_parity.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    os.makedirs(args.ckpt_dir, exist_ok=True)
    gemma_dir = os.path.join(args.ckpt_dir, "gemma")
    if os.path.exists(gemma_dir):
        shutil.rmtree(gemma_dir)
    run([args.mkmodel] + manifest["gemma_mkmodel_args"] + ["--out", gemma_dir])
    sp = spm.SentencePieceProcessor(model_file=os.path.join(gemma_dir, "tokenizer.model"))
    from transformers import Gemma3TextConfig
    gc = Gemma3TextConfig.from_pretrained(gemma_dir)
    for cfg in manifest["configs"]:
        ltx = os.path.join(args.ckpt_dir, f"ltx2_{cfg['name']}.safetensors")
        if args.writer == "mkmodel" or "--set" in cfg["mkmodel_args"]:
            run([args.mkmodel] + cfg["mkmodel_args"] + ["--out", ltx])
        else:
            write_py_combined(ltx, cfg["variant"], gc.hidden_size,
                              gc.num_hidden_layers + 1, cfg["seed"])
        goldens(cfg, gemma_dir, ltx, sp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
