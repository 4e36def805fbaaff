"""ONNX export in the layout transformers.js loads for a seq2seq model.

transformers.js (v4) opens exactly two sessions for T5/Marian: `onnx/encoder_model.onnx`
(input_ids, attention_mask -> last_hidden_state) and `onnx/decoder_model_merged.onnx`. There is
no fallback to the older decoder_model.onnx + decoder_with_past_model.onnx pair, so we build
the merged decoder the way Optimum does: one `If` on `use_cache_branch` whose else-branch is the
first step (computes cross-attention keys/values from encoder_hidden_states) and whose
then-branch reuses `past_key_values.*`. Both branches share one set of initializers.

Cache naming, as transformers.js' getCacheNames() expects for encoder-decoders:
past_key_values.{i}.decoder.key|value, past_key_values.{i}.encoder.key|value in, present.* out.
The first step's empty cache is built from the session's input metadata: symbolic dims are
resolved as {batch_size: B, everything else: 0}, so dim 0 must be named "batch_size".

`*_quantized.onnx` (dtype "q8") stores 2-D weights as int8 with a per-channel scale and
a DequantizeLinear in front, i.e. weight-only int8; about a quarter of the fp32 size.
"""

import hashlib
import io

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

OPSET = 14


def cache_names(n_layers, prefix):
    names = []
    for i in range(n_layers):
        for part in ("decoder.key", "decoder.value", "encoder.key", "encoder.value"):
            names.append(f"{prefix}.{i}.{part}")
    return names


class _Encoder(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, input_ids, attention_mask):
        return self.m.encode(input_ids, attention_mask)


class _DecoderFirstStep(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, encoder_attention_mask, input_ids, encoder_hidden_states):
        logits, present = self.m.decode(input_ids, encoder_attention_mask, encoder_hidden_states)
        return (logits, *[t for layer in present for t in layer])


class _DecoderWithPast(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        self.m = model

    def forward(self, encoder_attention_mask, input_ids, encoder_hidden_states, *flat_past):
        past = [tuple(flat_past[i:i + 4]) for i in range(0, len(flat_past), 4)]
        logits, present = self.m.decode(input_ids, encoder_attention_mask, encoder_hidden_states, past)
        return (logits, *[t for layer in present for t in layer])


def _export(module, args, input_names, output_names, dynamic_axes):
    buf = io.BytesIO()
    torch.onnx.export(module, args, buf, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic_axes, opset_version=OPSET, do_constant_folding=True)
    return onnx.load_from_string(buf.getvalue())


def export_encoder(model):
    ids = torch.tensor([[5, 6, 7, 1]])
    return _export(_Encoder(model), (ids, torch.ones_like(ids)), ["input_ids", "attention_mask"],
                   ["last_hidden_state"],
                   {"input_ids": {0: "batch_size", 1: "encoder_sequence_length"},
                    "attention_mask": {0: "batch_size", 1: "encoder_sequence_length"},
                    "last_hidden_state": {0: "batch_size", 1: "encoder_sequence_length"}})


def export_decoder_merged(model):
    cfg = model.cfg
    n = cfg.num_decoder_layers
    enc_ids = torch.tensor([[5, 6, 7, 1]])
    mask = torch.ones_like(enc_ids)
    enc = model.encode(enc_ids, mask).detach()
    first_in = ["encoder_attention_mask", "input_ids", "encoder_hidden_states"]
    outs = ["logits"] + cache_names(n, "present")
    dyn = {"encoder_attention_mask": {0: "b", 1: "s"}, "input_ids": {0: "b", 1: "t"},
           "encoder_hidden_states": {0: "b", 1: "s"}}
    first = _export(_DecoderFirstStep(model), (mask, torch.tensor([[0]]), enc), first_in, outs, dyn)

    _, present = model.decode(torch.tensor([[0, 3]]), mask, enc)
    flat_past = tuple(t.detach() for layer in present for t in layer)
    past_names = cache_names(n, "past_key_values")
    dyn_past = dict(dyn)
    for name in past_names:
        dyn_past[name] = {0: "b", 2: "p"}
    with_past = _export(_DecoderWithPast(model), (mask, torch.tensor([[4]]), enc, *flat_past),
                        first_in + past_names, outs, dyn_past)
    return _merge(first, with_past, cfg, past_names, outs)


def _tensor_key(t):
    arr = numpy_helper.to_array(t)
    return (t.data_type, tuple(t.dims), hashlib.sha256(arr.tobytes()).hexdigest())


def _branch(graph, tag, outer_inputs, initializer_names, outs):
    """Turns an exported graph into an If branch: inputs become outer-scope references,
    initializers are renamed to the shared ones, everything else gets a unique prefix."""
    keep = set(outer_inputs)
    rename = dict(initializer_names)

    def name_of(x):
        if x == "" or x in keep:
            return x
        return rename.setdefault(x, f"{tag}/{x}")

    nodes = []
    for node in graph.node:
        new = onnx.NodeProto()
        new.CopyFrom(node)
        new.name = f"{tag}/{node.name}"
        del new.input[:]
        del new.output[:]
        new.input.extend(name_of(x) for x in node.input)
        new.output.extend(name_of(x) for x in node.output)
        nodes.append(new)
    # Identity so each branch output has its own name even when it is an outer input
    # (the with-past branch passes the encoder cache straight through).
    outputs = []
    for out in outs:
        src = name_of(out)
        dst = f"{tag}/out/{out}"
        nodes.append(helper.make_node("Identity", [src], [dst], name=f"{tag}/identity/{out}"))
        outputs.append(helper.make_tensor_value_info(dst, TensorProto.FLOAT, None))
    return helper.make_graph(nodes, f"{tag}_branch", [], outputs)


def _merge(first, with_past, cfg, past_names, outs):
    shared, by_key = [], {}
    per_graph = []
    for g in (first.graph, with_past.graph):
        mapping = {}
        for init in g.initializer:
            key = _tensor_key(init)
            if key not in by_key:
                new_name = f"shared_{len(shared)}"
                t = onnx.TensorProto()
                t.CopyFrom(init)
                t.name = new_name
                shared.append(t)
                by_key[key] = new_name
            mapping[init.name] = by_key[key]
        per_graph.append(mapping)

    h, dk, d = cfg.num_heads, cfg.d_kv, cfg.d_model
    inputs = [
        helper.make_tensor_value_info("encoder_attention_mask", TensorProto.INT64,
                                      ["batch_size", "encoder_sequence_length"]),
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch_size", "decoder_sequence_length"]),
        helper.make_tensor_value_info("encoder_hidden_states", TensorProto.FLOAT,
                                      ["batch_size", "encoder_sequence_length", d]),
    ]
    for name in past_names:
        seq = "encoder_sequence_length_out" if ".encoder." in name else "past_decoder_sequence_length"
        inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch_size", h, seq, dk]))
    inputs.append(helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1]))

    outer_names = [i.name for i in inputs]
    else_branch = _branch(first.graph, "first", outer_names, per_graph[0], outs)
    then_branch = _branch(with_past.graph, "past", outer_names, per_graph[1], outs)
    if_node = helper.make_node("If", ["use_cache_branch"], outs, name="optimum::if",
                               then_branch=then_branch, else_branch=else_branch)
    outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                             ["batch_size", "decoder_sequence_length", cfg.vocab_size])]
    for name in outs[1:]:
        seq = "encoder_sequence_length_out" if ".encoder." in name else "past_decoder_sequence_length + 1"
        outputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch_size", h, seq, dk]))
    graph = helper.make_graph([if_node], "decoder_model_merged", inputs, outputs, initializer=shared)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="stingray-make-tiny-translator")
    model.ir_version = first.ir_version
    onnx.checker.check_model(model, full_check=True)
    return model


def quantize_weights(model, min_elements=256):
    """Weight-only int8: each large 2-D float initializer W becomes int8 data plus a
    per-channel scale, dequantized by a node placed ahead of everything else (outer scope,
    so If branches can use it too)."""
    g = model.graph
    kept, dq_nodes, new_inits = [], [], []
    for init in g.initializer:
        arr = numpy_helper.to_array(init)
        if init.data_type != TensorProto.FLOAT or arr.ndim != 2 or arr.size < min_elements:
            kept.append(init)
            continue
        # Gather tables (embeddings) are read by row; MatMul weights are [in, out].
        axis = 0 if arr.shape[0] > arr.shape[1] else 1
        scale = np.abs(arr).max(axis=1 - axis) / 127.0
        scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
        shaped = scale[:, None] if axis == 0 else scale[None, :]
        q = np.clip(np.round(arr / shaped), -127, 127).astype(np.int8)
        zp = np.zeros_like(scale, dtype=np.int8)
        base = init.name
        new_inits += [numpy_helper.from_array(q, f"{base}_quantized"),
                      numpy_helper.from_array(scale, f"{base}_scale"),
                      numpy_helper.from_array(zp, f"{base}_zero_point")]
        dq_nodes.append(helper.make_node("DequantizeLinear",
                                         [f"{base}_quantized", f"{base}_scale", f"{base}_zero_point"],
                                         [base], name=f"dequantize/{base}", axis=axis))
    out = onnx.ModelProto()
    out.CopyFrom(model)
    del out.graph.initializer[:]
    out.graph.initializer.extend(kept + new_inits)
    nodes = list(out.graph.node)
    del out.graph.node[:]
    out.graph.node.extend(dq_nodes + nodes)
    onnx.checker.check_model(out, full_check=True)
    return out
