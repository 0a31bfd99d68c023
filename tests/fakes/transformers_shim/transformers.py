"""A stand-in for the transformers package, for tests on machines with torch
only (transformers is not packaged by Debian). It offers just what
python/aieb_torch_worker.py touches on its synthetic-model path, with the
calling conventions of transformers' generate(): the streamer gets the prompt,
then each step's tokens (on the CPU); stopping criteria return one verdict per
row; finished rows are padded. The model is a bigram table (embedding ->
linear) of the config's vocabulary size, so the worker's glue code (configs,
dtype keyword, streamer, stopping criteria, left padding, token counting) runs
for real while the model itself is tiny. It proves nothing about transformers.
"""

import torch

__version__ = "4.57.0-shim"


class _Config:
    model_type = "shim"

    def __init__(self, **kw):
        self.__dict__.update(kw)


class LlamaConfig(_Config):
    model_type = "llama"


class Qwen2Config(_Config):
    model_type = "qwen2"


class GPT2Config(_Config):
    model_type = "gpt2"

    def __init__(self, **kw):
        _Config.__init__(self, **kw)
        self.max_position_embeddings = kw.get("n_positions")
        self.vocab_size = kw["vocab_size"]


class AutoConfig:
    @staticmethod
    def from_pretrained(name, **kw):
        raise OSError("shim: no hub here (%s)" % name)


class AutoTokenizer:
    @staticmethod
    def from_pretrained(name, **kw):
        raise OSError("shim: no hub here (%s)" % name)


class BitsAndBytesConfig(_Config):
    pass


class StoppingCriteria:
    pass


class StoppingCriteriaList(list):
    def __call__(self, input_ids, scores):
        done = torch.zeros(input_ids.shape[0], dtype=torch.bool)
        for c in self:
            done = done | c(input_ids, scores)
        return done


class generation:  # noqa: N801 - stands for the transformers.generation module
    class BaseStreamer:
        def put(self, value):
            raise NotImplementedError

        def end(self):
            raise NotImplementedError


class _BigramLM(torch.nn.Module):
    def __init__(self, config, dtype):
        super().__init__()
        self.config = config
        self.emb = torch.nn.Embedding(config.vocab_size, 8)
        self.out = torch.nn.Linear(8, config.vocab_size, bias=False)
        self.to(dtype=dtype)

    def get_input_embeddings(self):
        return self.emb

    @torch.no_grad()
    def generate(self, input_ids, attention_mask, max_new_tokens, pad_token_id, streamer,
                 stopping_criteria, min_new_tokens=0, do_sample=False, use_cache=True, **kw):
        if set(kw) - {"temperature", "top_p", "top_k", "repetition_penalty"}:
            raise TypeError("shim generate: unexpected %s" % sorted(kw))
        assert attention_mask.shape == input_ids.shape
        eos = self.config.eos_token_id
        ids = input_ids
        finished = torch.zeros(ids.shape[0], dtype=torch.bool)
        streamer.put(ids.cpu())
        for step in range(max_new_tokens):
            scores = self.out(self.emb(ids[:, -1])).float()
            if step < min_new_tokens:
                scores[:, eos] = float("-inf")
            if do_sample:
                nxt = torch.multinomial(scores.softmax(-1), 1)[:, 0]
            else:
                nxt = scores.argmax(-1)
            nxt = torch.where(finished, torch.full_like(nxt, pad_token_id), nxt)
            ids = torch.cat([ids, nxt[:, None]], 1)
            streamer.put(nxt.cpu())
            finished |= nxt == eos
            finished |= stopping_criteria(ids, scores)
            if bool(finished.all()):
                break
        streamer.end()
        return ids


class AutoModelForCausalLM:
    @staticmethod
    def from_config(config, dtype=None, torch_dtype=None, **kw):
        if torch_dtype is not None:
            raise TypeError("shim: transformers >= 4.56 takes dtype=, not torch_dtype=")
        return _BigramLM(config, dtype or torch.float32)

    @staticmethod
    def from_pretrained(name, **kw):
        raise OSError("shim: no hub here (%s)" % name)
