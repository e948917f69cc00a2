#!/usr/bin/env python3
"""Trains the tiny Gemma-style SentencePiece model that tests and warm-mkmodel use.

Writes sdk/tools/warm-mkmodel/data/gemma3-tokenizer.model (or --out). The model is
a BPE model with byte fallback and Gemma's special ids (pad 0, eos 1, bos 2,
unk 3), Gemma's normalisation choices (identity normaliser, no dummy prefix,
whitespace kept as is, digits split), trained single-threaded on the small text
below so the same sentencepiece version writes the same bytes every time.
"""
import argparse
import hashlib
import os
import sys
import tempfile

import sentencepiece as spm

# A few paragraphs in the register of video prompts, plus some code-ish and
# multilingual lines so merges cover more than English words.
CORPUS = """\
A slow dolly shot moves through a quiet forest at dawn, mist drifting between the tall pines.
The camera follows a red fox as it trots along a frozen river, its breath visible in the cold air.
Sunlight breaks through the clouds and lights up the snow on the distant mountains.
A woman in a yellow raincoat walks down a busy city street while neon signs flicker above her.
Close-up of raindrops sliding down a window; behind the glass, blurred car lights pass by.
An old fisherman mends his net on a wooden pier as gulls circle overhead and waves slap the posts.
The scene cuts to a wide aerial view of the harbour, boats rocking gently in the evening light.
A child laughs and runs across a field of sunflowers, the camera tracking at knee height.
Time-lapse of clouds rolling over a desert canyon; shadows stretch and shrink across the red rock.
A cat sits on a windowsill, watching the snow fall, its tail twitching slowly from side to side.
In a dim kitchen, steam rises from a pot of soup while a radio plays an old jazz song.
The astronaut floats inside the station, turning slowly to look at the blue planet below.
A train crosses a stone bridge over a green valley, smoke trailing behind the engine.
Macro shot of a bee landing on a purple flower, pollen dusting its legs.
Two friends share an umbrella and talk quietly on a bench in the park at night.
The waves crash against the cliffs and white foam sprays into the wind.
A dancer spins on a bare stage under a single warm spotlight, her dress flaring out.
Fireworks burst over the lake, their colours reflected in the still black water.
def encode(prompt, max_tokens=1024): return tokenizer(prompt, padding="max_length")
for i in range(10): print(i * 2 + 1, "frames", 24, "fps", 1280, "x", 720)
Le chat noir dort sur le canapé pendant que la pluie tombe doucement dehors.
Der alte Mann geht langsam über die Brücke und schaut auf den Fluss.
El sol se pone detrás de las montañas y el cielo se vuelve naranja y rosa.
Un treno attraversa la campagna toscana al tramonto.
東京の夜の街を歩く人々、ネオンが雨に反射している。
"""


def train(out_path):
    out_path = os.path.abspath(out_path)
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as tmp:
        # Relative names: the trainer spec stored in the model records them,
        # and a temp dir name would make every run's bytes differ.
        os.chdir(tmp)
        text = "corpus.txt"
        with open(text, "w", encoding="utf-8") as f:
            # Repeat so every merge has enough counts; order is fixed.
            for _ in range(4):
                f.write(CORPUS)
        prefix = "g3tok"
        spm.SentencePieceTrainer.train(
            input=text,
            model_prefix=prefix,
            model_type="bpe",
            vocab_size=640,
            character_coverage=1.0,
            byte_fallback=True,
            pad_id=0,
            eos_id=1,
            bos_id=2,
            unk_id=3,
            pad_piece="<pad>",
            eos_piece="<eos>",
            bos_piece="<bos>",
            unk_piece="<unk>",
            normalization_rule_name="identity",
            add_dummy_prefix=False,
            remove_extra_whitespaces=False,
            split_digits=True,
            allow_whitespace_only_pieces=True,
            num_threads=1,
            shuffle_input_sentence=False,
            minloglevel=2,
        )
        with open(prefix + ".model", "rb") as f:
            data = f.read()
        os.chdir(cwd)
    os.makedirs(os.path.dirname(os.path.abspath(out_path)), exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(data)
    return data


def main():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(
        root, "sdk/tools/warm-mkmodel/data/gemma3-tokenizer.model"))
    args = ap.parse_args()
    data = train(args.out)
    sp = spm.SentencePieceProcessor(model_file=args.out)
    print(f"{args.out}: {len(data)} bytes, vocab {sp.get_piece_size()}, "
          f"sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    assert (sp.pad_id(), sp.eos_id(), sp.bos_id(), sp.unk_id()) == (0, 1, 2, 3)
    return 0


if __name__ == "__main__":
    sys.exit(main())
