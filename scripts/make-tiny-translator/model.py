"""A hand-written, tiny T5 (same maths as Hugging Face's T5ForConditionalGeneration).

Written out here because Debian ships torch but not the `transformers` package. Kept faithful
to T5 so config.json tells the truth: RMS layer norm without bias, no attention scaling,
bucketed relative position bias in the first layer of each stack (bidirectional in the
encoder, causal in the decoder), ReLU feed-forward, LM head tied to the shared embedding with
the d_model ** -0.5 rescale.

The decoder takes an optional per-layer cache (self-attention key/value, cross-attention
key/value) so the ONNX export can produce both branches of the merged decoder.
"""

import math

import torch
from torch import nn

NEG = -1e9  # additive mask; finite so a fully masked row can never turn into NaN


class Config:
    def __init__(self, vocab_size, d_model=64, d_kv=16, d_ff=128, num_heads=4, num_layers=1,
                 num_decoder_layers=1, num_buckets=32, max_distance=128, eps=1e-6):
        self.vocab_size = vocab_size
        self.d_model = d_model
        self.d_kv = d_kv
        self.d_ff = d_ff
        self.num_heads = num_heads
        self.num_layers = num_layers
        self.num_decoder_layers = num_decoder_layers
        self.num_buckets = num_buckets
        self.max_distance = max_distance
        self.eps = eps


def relative_position_bucket(rel, bidirectional, num_buckets, max_distance):
    buckets = torch.zeros_like(rel)
    if bidirectional:
        num_buckets //= 2
        buckets = buckets + (rel > 0).to(torch.long) * num_buckets
        rel = torch.abs(rel)
    else:
        rel = -torch.min(rel, torch.zeros_like(rel))
    max_exact = num_buckets // 2
    is_small = rel < max_exact
    # clamp before log: HF takes log(0) = -inf here and relies on `where` to discard it, and
    # casting -inf to int64 is undefined behaviour in ONNX Runtime
    safe = torch.clamp(rel, min=1).to(torch.float32)
    large = max_exact + (
        torch.log(safe / max_exact) / math.log(max_distance / max_exact) * (num_buckets - max_exact)
    ).to(torch.long)
    large = torch.min(large, torch.full_like(large, num_buckets - 1))
    return buckets + torch.where(is_small, rel, large)


class LayerNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        var = x.pow(2).mean(-1, keepdim=True)
        return self.weight * (x * torch.rsqrt(var + self.eps))


class Attention(nn.Module):
    def __init__(self, cfg, has_relative_bias=False):
        super().__init__()
        inner = cfg.num_heads * cfg.d_kv
        self.h, self.dk = cfg.num_heads, cfg.d_kv
        self.q = nn.Linear(cfg.d_model, inner, bias=False)
        self.k = nn.Linear(cfg.d_model, inner, bias=False)
        self.v = nn.Linear(cfg.d_model, inner, bias=False)
        self.o = nn.Linear(inner, cfg.d_model, bias=False)
        self.cfg = cfg
        if has_relative_bias:
            self.relative_attention_bias = nn.Embedding(cfg.num_buckets, cfg.num_heads)

    def heads(self, x):  # [B, L, H*dk] -> [B, H, L, dk]
        return x.view(x.shape[0], -1, self.h, self.dk).transpose(1, 2)

    def compute_bias(self, q_len, k_len, offset, bidirectional):
        ctx = torch.arange(q_len, dtype=torch.long)[:, None] + offset
        mem = torch.arange(k_len, dtype=torch.long)[None, :]
        buckets = relative_position_bucket(mem - ctx, bidirectional, self.cfg.num_buckets,
                                           self.cfg.max_distance)
        return self.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)

    def attend(self, x, k, v, bias):
        """x: queries' hidden states; k, v: already split into heads."""
        q = self.heads(self.q(x))
        scores = torch.matmul(q, k.transpose(2, 3)) + bias
        out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.transpose(1, 2).reshape(x.shape[0], -1, self.h * self.dk)
        return self.o(out)


class FeedForward(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.wi = nn.Linear(cfg.d_model, cfg.d_ff, bias=False)
        self.wo = nn.Linear(cfg.d_ff, cfg.d_model, bias=False)

    def forward(self, x):
        return self.wo(torch.relu(self.wi(x)))


class EncoderLayer(nn.Module):
    def __init__(self, cfg, first):
        super().__init__()
        self.ln_attn = LayerNorm(cfg.d_model, cfg.eps)
        self.attn = Attention(cfg, has_relative_bias=first)
        self.ln_ff = LayerNorm(cfg.d_model, cfg.eps)
        self.ff = FeedForward(cfg)


class DecoderLayer(nn.Module):
    def __init__(self, cfg, first):
        super().__init__()
        self.ln_self = LayerNorm(cfg.d_model, cfg.eps)
        self.self_attn = Attention(cfg, has_relative_bias=first)
        self.ln_cross = LayerNorm(cfg.d_model, cfg.eps)
        self.cross_attn = Attention(cfg)
        self.ln_ff = LayerNorm(cfg.d_model, cfg.eps)
        self.ff = FeedForward(cfg)


def mask_bias(attention_mask):  # [B, S] of 0/1 -> additive [B, 1, 1, S]
    return (1.0 - attention_mask[:, None, None, :].to(torch.float32)) * NEG


class TinyT5(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.shared = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.encoder = nn.ModuleList([EncoderLayer(cfg, i == 0) for i in range(cfg.num_layers)])
        self.enc_ln = LayerNorm(cfg.d_model, cfg.eps)
        self.decoder = nn.ModuleList([DecoderLayer(cfg, i == 0) for i in range(cfg.num_decoder_layers)])
        self.dec_ln = LayerNorm(cfg.d_model, cfg.eps)

    def encode(self, input_ids, attention_mask):
        x = self.shared(input_ids)
        n = input_ids.shape[1]
        bias = self.encoder[0].attn.compute_bias(n, n, 0, True) + mask_bias(attention_mask)
        for layer in self.encoder:
            h = layer.ln_attn(x)
            x = x + layer.attn.attend(h, layer.attn.heads(layer.attn.k(h)), layer.attn.heads(layer.attn.v(h)), bias)
            x = x + layer.ff(layer.ln_ff(x))
        return self.enc_ln(x)

    def decode(self, input_ids, encoder_attention_mask, encoder_hidden_states, past=None):
        """Returns (logits, present) where present[i] = (self_k, self_v, cross_k, cross_v).

        Without `past`, cross-attention keys/values come from encoder_hidden_states; with it,
        they are reused from the cache (as the with-past half of a merged decoder does).
        """
        x = self.shared(input_ids)
        q_len = input_ids.shape[1]
        past_len = past[0][0].shape[2] if past is not None else 0
        k_len = past_len + q_len
        self_bias = self.decoder[0].self_attn.compute_bias(q_len, k_len, past_len, False)
        ctx = torch.arange(q_len, dtype=torch.long)[:, None] + past_len
        mem = torch.arange(k_len, dtype=torch.long)[None, :]
        self_bias = self_bias + (mem > ctx).to(torch.float32)[None, None] * NEG
        cross_bias = mask_bias(encoder_attention_mask)
        present = []
        for i, layer in enumerate(self.decoder):
            h = layer.ln_self(x)
            k = layer.self_attn.heads(layer.self_attn.k(h))
            v = layer.self_attn.heads(layer.self_attn.v(h))
            if past is not None:
                k = torch.cat([past[i][0], k], dim=2)
                v = torch.cat([past[i][1], v], dim=2)
            x = x + layer.self_attn.attend(h, k, v, self_bias)
            if past is not None:
                ck, cv = past[i][2], past[i][3]
            else:
                ck = layer.cross_attn.heads(layer.cross_attn.k(encoder_hidden_states))
                cv = layer.cross_attn.heads(layer.cross_attn.v(encoder_hidden_states))
            x = x + layer.cross_attn.attend(layer.ln_cross(x), ck, cv, cross_bias)
            x = x + layer.ff(layer.ln_ff(x))
            present.append((k, v, ck, cv))
        x = self.dec_ln(x) * (self.cfg.d_model ** -0.5)
        return torch.matmul(x, self.shared.weight.t()), present

    def forward(self, input_ids, attention_mask, decoder_input_ids):
        enc = self.encode(input_ids, attention_mask)
        logits, _ = self.decode(decoder_input_ids, attention_mask, enc)
        return logits

    @torch.no_grad()
    def greedy(self, input_ids, eos_id, start_id, max_new_tokens=32):
        """Step-by-step decoding through the cache, the path transformers.js takes."""
        mask = torch.ones_like(input_ids)
        enc = self.encode(input_ids, mask)
        tok = torch.tensor([[start_id]])
        logits, past = self.decode(tok, mask, enc)
        out = []
        for _ in range(max_new_tokens):
            nxt = int(logits[0, -1].argmax())
            if nxt == eos_id:
                break
            out.append(nxt)
            logits, past = self.decode(torch.tensor([[nxt]]), mask, enc, past)
        return out
