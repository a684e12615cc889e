#!/usr/bin/python3
"""Plain PyTorch-eager reference for tests/bench/bench_decode.cpp (run with Debian's python3-torch).

A Llama/Qwen2-style decoder written the way HF's eager modeling code runs it: separate q/k/v and
gate/up projections, rotate-half RoPE, repeat_kv, float32 softmax, a KV cache grown with
torch.cat. Random weights of the shapes given on the command line (JSON config). Measures the
same figures as the C++ bench and prints one JSON line:
  {"prefill_tok_s": ..., "decode_tok_s": ..., "decode_batch_tok_s": ...}
Usage: bench_decode_eager.py CONFIG_JSON PROMPT_LEN NEW_TOKENS BATCH THREADS [REPEATS]
(best of REPEATS runs, as the C++ bench does)
"""
import json
import sys
import time

import torch


def rms_norm(x, w, eps):
    xf = x.float()
    return w * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)).to(x.dtype)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Model:
    def __init__(self, c):
        self.c = c
        hs, inter, V = c["hidden_size"], c["intermediate_size"], c["vocab_size"]
        H, KV, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        r = lambda *s: torch.randn(*s) * 0.02
        self.embed = r(V, hs)
        self.layers = []
        for _ in range(c["num_hidden_layers"]):
            self.layers.append(dict(
                ln1=torch.ones(hs), ln2=torch.ones(hs),
                q=r(H * D, hs), k=r(KV * D, hs), v=r(KV * D, hs),
                qb=r(H * D) if c["qkv_bias"] else None, kb=r(KV * D) if c["qkv_bias"] else None,
                vb=r(KV * D) if c["qkv_bias"] else None, o=r(hs, H * D),
                gate=r(inter, hs), up=r(inter, hs), down=r(hs, inter)))
        self.norm = torch.ones(hs)
        self.lm_head = self.embed if c["tie_word_embeddings"] else r(V, hs)
        self.inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, D, 2).float() / D))

    def forward(self, ids, pos, cache):
        c = self.c
        B, T = ids.shape
        H, KV, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
        eps = c["rms_norm_eps"]
        freqs = pos[..., None].float() * self.inv_freq
        emb = torch.cat((freqs, freqs), -1)[:, None]
        cos, sin = emb.cos(), emb.sin()
        x = self.embed[ids]
        for i, L in enumerate(self.layers):
            h = rms_norm(x, L["ln1"], eps)
            q = torch.nn.functional.linear(h, L["q"], L["qb"]).view(B, T, H, D).transpose(1, 2)
            k = torch.nn.functional.linear(h, L["k"], L["kb"]).view(B, T, KV, D).transpose(1, 2)
            v = torch.nn.functional.linear(h, L["v"], L["vb"]).view(B, T, KV, D).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache[i] is not None:
                k = torch.cat((cache[i][0], k), 2)
                v = torch.cat((cache[i][1], v), 2)
            cache[i] = (k, v)
            S = k.shape[2]
            k = k[:, :, None].expand(B, KV, H // KV, S, D).reshape(B, H, S, D)
            v = v[:, :, None].expand(B, KV, H // KV, S, D).reshape(B, H, S, D)
            s = (q @ k.transpose(2, 3)) * D ** -0.5
            if T > 1:
                s = s + torch.full((T, S), float("-inf")).triu(S - T + 1)
            p = torch.softmax(s, -1, dtype=torch.float32).to(q.dtype)
            a = (p @ v).transpose(1, 2).reshape(B, T, H * D)
            x = x + torch.nn.functional.linear(a, L["o"])
            h = rms_norm(x, L["ln2"], eps)
            g = torch.nn.functional.linear(h, L["gate"])
            u = torch.nn.functional.linear(h, L["up"])
            x = x + torch.nn.functional.linear(torch.nn.functional.silu(g) * u, L["down"])
        x = rms_norm(x[:, -1:], self.norm, eps)
        return torch.nn.functional.linear(x, self.lm_head).float()[:, -1]


def run(model, batch, prompt_len, new_tokens):
    V = model.c["vocab_size"]
    ids = torch.randint(0, V, (batch, prompt_len))
    pos = torch.arange(prompt_len)[None].expand(batch, prompt_len)
    cache = [None] * model.c["num_hidden_layers"]
    t0 = time.perf_counter()
    logits = model.forward(ids, pos, cache)
    nxt = logits.argmax(-1, keepdim=True)
    t1 = time.perf_counter()
    for step in range(new_tokens - 1):
        p = torch.full((batch, 1), prompt_len + step)
        nxt = model.forward(nxt, p, cache).argmax(-1, keepdim=True)
    t2 = time.perf_counter()
    return batch * prompt_len / (t1 - t0), batch * (new_tokens - 1) / (t2 - t1)


def main():
    c = json.loads(sys.argv[1])
    prompt_len, new_tokens, batch, threads = (int(a) for a in sys.argv[2:6])
    repeats = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    with torch.inference_mode():
        model = Model(c)
        run(model, 1, 8, 3)  # warm-up
        prefill = decode = decode_batch = 0.0
        for _ in range(repeats):
            p, d = run(model, 1, prompt_len, new_tokens)
            _, db = run(model, batch, 8, new_tokens)
            prefill, decode, decode_batch = max(prefill, p), max(decode, d), max(decode_batch, db)
    print(json.dumps({"torch": torch.__version__, "prefill_tok_s": prefill, "decode_tok_s": decode,
                      "decode_batch_tok_s": decode_batch}))


if __name__ == "__main__":
    main()
