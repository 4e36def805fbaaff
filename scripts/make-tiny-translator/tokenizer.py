"""A tiny T5-style (SentencePiece Unigram) tokenizer built from the phrasebook.

Writes tokenizer.json / tokenizer_config.json in the layout @huggingface/tokenizers loads
(WhitespaceSplit + Metaspace pre-tokenizer, Unigram model, "</s>" appended, Metaspace decoder),
and encodes text in Python with the same Viterbi search so training ids match what
transformers.js feeds the ONNX model.

Every phrasebook word is one piece (score -2), punctuation is its own piece, and single
characters (score -12) are a fallback so unknown words still tokenize instead of all-<unk>.
"""

PAD, EOS, UNK = "<pad>", "</s>", "<unk>"
PAD_ID, EOS_ID, UNK_ID = 0, 1, 2
SPACE = "\u2581"  # SentencePiece's "▁" word-start marker
PUNCT = "?!.,:;"
WORD_SCORE = -2.0
CHAR_SCORE = -12.0


def split_word(word):
    """'you?' -> ['▁you', '?']; '?' -> ['▁?'] (French puts a space before '?')."""
    base = word.rstrip(PUNCT)
    if not base:
        return [SPACE + word]
    return [SPACE + base] + list(word[len(base):])


class TinyTokenizer:
    def __init__(self, texts):
        words, chars = set(), set(SPACE)
        for text in texts:
            for w in text.split():
                words.update(split_word(w))
                chars.update(w)
        chars.update("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        pieces = [(PAD, 0.0), (EOS, 0.0), (UNK, 0.0)]
        pieces += [(p, WORD_SCORE) for p in sorted(words) if len(p) > 1]
        pieces += [(c, CHAR_SCORE) for c in sorted(chars - words)]
        # a one-character "word" (e.g. '?') keeps the word score
        pieces += [(p, WORD_SCORE) for p in sorted(words) if len(p) == 1 and p not in dict(pieces)]
        self.pieces = pieces
        self.ids = {p: i for i, (p, _) in enumerate(pieces)}
        self.scores = [s for _, s in pieces]

    @property
    def vocab_size(self):
        return len(self.pieces)

    def _viterbi(self, chunk):
        """Best-scoring segmentation of one pre-tokenized chunk (as transformers.js does)."""
        n = len(chunk)
        best = [(-float("inf"), None)] * (n + 1)
        best[0] = (0.0, None)
        unk_score = min(self.scores[3:]) - 10.0
        for end in range(1, n + 1):
            for start in range(end):
                piece = chunk[start:end]
                if piece in self.ids and self.ids[piece] > UNK_ID:
                    score = self.scores[self.ids[piece]]
                elif end - start == 1:
                    score = unk_score
                    piece = None
                else:
                    continue
                cand = best[start][0] + score
                if cand > best[end][0]:
                    best[end] = (cand, (start, piece))
        out, pos = [], n
        while pos > 0:
            start, piece = best[pos][1]
            out.append(self.ids[piece] if piece is not None else UNK_ID)
            pos = start
        return out[::-1]

    def encode(self, text, add_eos=True):
        ids = []
        for w in text.split():
            ids += self._viterbi(SPACE + w)
        return ids + [EOS_ID] if add_eos else ids

    def decode(self, ids):
        toks = [self.pieces[i][0] for i in ids if i > UNK_ID]
        return "".join(toks).replace(SPACE, " ").lstrip(" ")

    def tokenizer_json(self):
        special = [
            {"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
             "normalized": False, "special": True}
            for i, t in ((PAD_ID, PAD), (EOS_ID, EOS), (UNK_ID, UNK))
        ]
        metaspace = {"type": "Metaspace", "replacement": SPACE, "prepend_scheme": "always", "split": True}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": special,
            "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [{"type": "WhitespaceSplit"}, metaspace]},
            "post_processor": {
                "type": "TemplateProcessing",
                "single": [{"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": EOS, "type_id": 0}}],
                "pair": [
                    {"Sequence": {"id": "A", "type_id": 0}}, {"SpecialToken": {"id": EOS, "type_id": 0}},
                    {"Sequence": {"id": "B", "type_id": 0}}, {"SpecialToken": {"id": EOS, "type_id": 0}},
                ],
                "special_tokens": {EOS: {"id": EOS, "ids": [EOS_ID], "tokens": [EOS]}},
            },
            "decoder": metaspace,
            "model": {"type": "Unigram", "unk_id": UNK_ID, "vocab": [[p, s] for p, s in self.pieces],
                      "byte_fallback": False},
        }

    @staticmethod
    def tokenizer_config_json():
        return {
            "tokenizer_class": "T5Tokenizer",
            "eos_token": EOS,
            "pad_token": PAD,
            "unk_token": UNK,
            "extra_ids": 0,
            "additional_special_tokens": [],
            "model_max_length": 512,
            # keep "vous ?" as written; the default cleanup would glue "?" to the word
            "clean_up_tokenization_spaces": False,
        }
