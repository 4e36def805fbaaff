#!/usr/bin/python3
"""Builds the tiny English->French T5 the translator tests load through transformers.js.

Run with Debian's python (apt: python3-torch python3-onnx python3-numpy), not a pyenv one:

    /usr/bin/python3 scripts/make-tiny-translator/make_tiny_translator.py [OUT_DIR]

OUT_DIR defaults to test/fixtures/models/stingray/tiny-t5-en-fr, i.e. model id
"stingray/tiny-t5-en-fr" under env.localModelPath = test/fixtures/models. The script trains
(seeded, single-threaded, deterministic) until greedy decoding through the KV cache reproduces
every phrasebook entry exactly, then writes config/tokenizer/ONNX files (fp32 and q8).
"""

import json
import os
import sys

import torch

# the sibling modules are imported from here; keep __pycache__ out of the tree
sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from model import Config, TinyT5  # noqa: E402
from onnx_export import export_decoder_merged, export_encoder, quantize_weights  # noqa: E402
from phrasebook import PHRASES, T5_PREFIX  # noqa: E402
from tokenizer import EOS_ID, PAD_ID, TinyTokenizer  # noqa: E402

SEED = 1234
MAX_STEPS = 4000
DEFAULT_OUT = os.path.join(HERE, "..", "..", "test", "fixtures", "models", "stingray", "tiny-t5-en-fr")


def init_weights(model):
    """T5's initialisation: it is what makes unscaled attention train stably."""
    cfg = model.cfg
    gen = torch.Generator().manual_seed(SEED)

    def normal(p, std):
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=gen) * std)

    normal(model.shared.weight, 1.0)
    for name, p in model.named_parameters():
        if name.endswith("q.weight"):
            normal(p, (cfg.d_model * cfg.d_kv) ** -0.5)
        elif name.endswith(("k.weight", "v.weight")):
            normal(p, cfg.d_model ** -0.5)
        elif name.endswith("o.weight"):
            normal(p, (cfg.num_heads * cfg.d_kv) ** -0.5)
        elif name.endswith("wi.weight"):
            normal(p, cfg.d_model ** -0.5)
        elif name.endswith("wo.weight"):
            normal(p, cfg.d_ff ** -0.5)
        elif name.endswith("relative_attention_bias.weight"):
            normal(p, cfg.d_model ** -0.5)


def batch(tok):
    src = [tok.encode(T5_PREFIX + en) for en, _ in PHRASES]
    tgt = [tok.encode(fr) for _, fr in PHRASES]
    s_len, t_len = max(map(len, src)), max(map(len, tgt))
    ids = torch.tensor([s + [PAD_ID] * (s_len - len(s)) for s in src])
    mask = torch.tensor([[1] * len(s) + [0] * (s_len - len(s)) for s in src])
    labels = torch.tensor([t + [-100] * (t_len - len(t)) for t in tgt])
    dec_in = torch.tensor([[PAD_ID] + [x if x >= 0 else PAD_ID for x in t[:-1]] for t in labels.tolist()])
    return ids, mask, dec_in, labels


def all_exact(model, tok):
    model.eval()
    bad = []
    for en, fr in PHRASES:
        out = tok.decode(model.greedy(torch.tensor([tok.encode(T5_PREFIX + en)]), EOS_ID, PAD_ID))
        if out != fr:
            bad.append((en, fr, out))
    model.train()
    return bad


def train(model, tok):
    ids, mask, dec_in, labels = batch(tok)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = torch.nn.CrossEntropyLoss(ignore_index=-100)
    for step in range(1, MAX_STEPS + 1):
        logits = model(ids, mask, dec_in)
        loss = loss_fn(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        # stop once memorised with a margin (low loss), checked on the cached decoding path
        if step % 100 == 0:
            bad = all_exact(model, tok)
            print(f"step {step}: loss {loss.item():.5f}, wrong {len(bad)}")
            if not bad and loss.item() < 0.01:
                return
    raise SystemExit(f"did not memorise the phrasebook: {all_exact(model, tok)}")


def config_json(cfg):
    return {
        "_name_or_path": "stingray/tiny-t5-en-fr",
        "architectures": ["T5ForConditionalGeneration"],
        "model_type": "t5",
        "vocab_size": cfg.vocab_size,
        "d_model": cfg.d_model,
        "d_kv": cfg.d_kv,
        "d_ff": cfg.d_ff,
        "num_layers": cfg.num_layers,
        "num_decoder_layers": cfg.num_decoder_layers,
        "num_heads": cfg.num_heads,
        "relative_attention_num_buckets": cfg.num_buckets,
        "relative_attention_max_distance": cfg.max_distance,
        "dropout_rate": 0.0,
        "layer_norm_epsilon": cfg.eps,
        "initializer_factor": 1.0,
        "feed_forward_proj": "relu",
        "is_encoder_decoder": True,
        "tie_word_embeddings": True,
        "use_cache": True,
        "pad_token_id": PAD_ID,
        "eos_token_id": EOS_ID,
        "decoder_start_token_id": PAD_ID,
        # Same shape as t5-small's entry. transformers.js' "translation" task does not read
        # it (it looks up task_specific_params["translation"]), so loaders add the prefix.
        "task_specific_params": {
            "translation_en_to_fr": {"prefix": T5_PREFIX, "max_length": 32, "num_beams": 1}
        },
    }


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=2)
        f.write("\n")


def main():
    out_dir = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT)
    torch.manual_seed(SEED)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)

    texts = [T5_PREFIX] + [en for en, _ in PHRASES] + [fr for _, fr in PHRASES]
    tok = TinyTokenizer(texts)
    cfg = Config(vocab_size=tok.vocab_size)
    model = TinyT5(cfg)
    init_weights(model)
    train(model, tok)
    model.eval()

    os.makedirs(os.path.join(out_dir, "onnx"), exist_ok=True)
    with torch.no_grad():
        encoder = export_encoder(model)
        decoder = export_decoder_merged(model)
    for name, m in (("encoder_model", encoder), ("decoder_model_merged", decoder)):
        with open(os.path.join(out_dir, "onnx", f"{name}.onnx"), "wb") as f:
            f.write(m.SerializeToString())
        with open(os.path.join(out_dir, "onnx", f"{name}_quantized.onnx"), "wb") as f:
            f.write(quantize_weights(m).SerializeToString())

    write_json(os.path.join(out_dir, "config.json"), config_json(cfg))
    write_json(os.path.join(out_dir, "generation_config.json"), {
        "decoder_start_token_id": PAD_ID, "eos_token_id": EOS_ID, "pad_token_id": PAD_ID,
        "max_length": 32,
    })
    write_json(os.path.join(out_dir, "tokenizer.json"), tok.tokenizer_json())
    write_json(os.path.join(out_dir, "tokenizer_config.json"), tok.tokenizer_config_json())
    write_json(os.path.join(out_dir, "phrasebook.json"), {
        "prefix": T5_PREFIX, "phrases": [{"en": en, "fr": fr} for en, fr in PHRASES]})

    total = 0
    for root, _, files in os.walk(out_dir):
        for f in sorted(files):
            size = os.path.getsize(os.path.join(root, f))
            total += size
            print(f"{os.path.relpath(os.path.join(root, f), out_dir)}: {size} bytes")
    print(f"total: {total} bytes, vocab {cfg.vocab_size}, phrases {len(PHRASES)}")


if __name__ == "__main__":
    main()
