#!/usr/bin/python3
"""PyTorch-eager reference of one RL iteration of the reference method, for
tests/bench/bench_rl_step.cpp (run with Debian's python3-torch).

The loop as the reference code runs it, on a decoder written the way HF's eager modeling code is
(bench_decode_eager.Model): every target matrix (the MLP's gate, up, down) is recomposed as
W' = U diag(sigma') Vh with sigma' = sigma * sigmoid(p), rescaled to keep sum(sigma); the rollouts
are greedy generation with the recomposed weights (KV cache grown with torch.cat); then the
policy-gradient step: W' recomposed again with autograd, a dense forward over prompt +
completion with logits at every position, log-softmax, gather, -advantage * sum log p, backward
to p. Random weights of the shapes given (JSON config); random prompts of equal length.
Prints one JSON line: {"rollout_s": ..., "scoring_s": ...} (best of REPEATS).
Usage: bench_rl_eager.py CONFIG_JSON PROMPTS PROMPT_LEN COMPLETION_LEN THREADS [REPEATS]
"""
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_decode_eager import Model, rms_norm, rotate_half  # noqa: E402

TARGETS = ("gate", "up", "down")


def factors(model):
    out = []
    for layer in model.layers:
        f = {}
        for name in TARGETS:
            u, s, vh = torch.linalg.svd(layer[name], full_matrices=False)
            f[name] = (u, s, vh, torch.full_like(s, 0.1))
        out.append(f)
    return out


def recompose(u, s, vh, p):
    scaled = s * torch.sigmoid(p)
    sigma = scaled * (s.sum() / scaled.sum())
    return (u * sigma) @ vh


def forward_all(model, ids):
    """Logits at every position, causal attention, no cache (the scoring forward)."""
    c = model.c
    B, T = ids.shape
    H, KV, D = c["num_attention_heads"], c["num_key_value_heads"], c["head_dim"]
    eps = c["rms_norm_eps"]
    pos = torch.arange(T)[None].expand(B, T)
    freqs = pos[..., None].float() * model.inv_freq
    emb = torch.cat((freqs, freqs), -1)[:, None]
    cos, sin = emb.cos(), emb.sin()
    mask = torch.full((T, T), float("-inf")).triu(1)
    x = model.embed[ids]
    F = torch.nn.functional
    for L in model.layers:
        h = rms_norm(x, L["ln1"], eps)
        q = F.linear(h, L["q"], L["qb"]).view(B, T, H, D).transpose(1, 2)
        k = F.linear(h, L["k"], L["kb"]).view(B, T, KV, D).transpose(1, 2)
        v = F.linear(h, L["v"], L["vb"]).view(B, T, KV, D).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k[:, :, None].expand(B, KV, H // KV, T, D).reshape(B, H, T, D)
        v = v[:, :, None].expand(B, KV, H // KV, T, D).reshape(B, H, T, D)
        s = (q @ k.transpose(2, 3)) * D ** -0.5 + mask
        a = (torch.softmax(s, -1, dtype=torch.float32) @ v).transpose(1, 2).reshape(B, T, H * D)
        x = x + F.linear(a, L["o"])
        h = rms_norm(x, L["ln2"], eps)
        x = x + F.linear(F.silu(F.linear(h, L["gate"])) * F.linear(h, L["up"]), L["down"])
    return F.linear(rms_norm(x, model.norm, eps), model.lm_head).float()


def iteration(model, facs, prompts, completion_len):
    B, P = prompts.shape
    base = [{n: L[n] for n in TARGETS} for L in model.layers]
    # Rollouts: load the recomposed weights, generate greedily.
    t0 = time.perf_counter()
    with torch.no_grad():
        for L, f in zip(model.layers, facs):
            for n in TARGETS:
                L[n] = recompose(*f[n])
        cache = [None] * model.c["num_hidden_layers"]
        pos = torch.arange(P)[None].expand(B, P)
        nxt = model.forward(prompts, pos, cache).argmax(-1, keepdim=True)
        out = [nxt]
        for step in range(completion_len - 1):
            p = torch.full((B, 1), P + step)
            nxt = model.forward(nxt, p, cache).argmax(-1, keepdim=True)
            out.append(nxt)
    completion = torch.cat(out, 1)
    t1 = time.perf_counter()
    # Scoring: recompose with autograd, dense forward over every position, backward.
    params = []
    for L, f in zip(model.layers, facs):
        for n in TARGETS:
            u, s, vh, p0 = f[n]
            p = p0.clone().requires_grad_(True)
            params.append(p)
            L[n] = recompose(u, s, vh, p)
    ids = torch.cat((prompts, completion), 1)
    logp = torch.log_softmax(forward_all(model, ids), -1)
    pred = logp[:, P - 1:-1]
    tok = ids[:, P:]
    adv = torch.tensor([1.0 if i % 2 else -1.0 for i in range(B)])
    loss = -(adv * pred.gather(2, tok[..., None]).squeeze(-1).sum(1)).sum() / B
    loss.backward()
    norm = sum(float(p.grad.pow(2).sum()) for p in params)
    t2 = time.perf_counter()
    for L, b in zip(model.layers, base):
        L.update(b)
    return t1 - t0, t2 - t1, norm


def main():
    c = json.loads(sys.argv[1])
    prompts, prompt_len, completion_len, threads = (int(a) for a in sys.argv[2:6])
    repeats = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = Model(c)
    facs = factors(model)
    ids = torch.randint(0, c["vocab_size"], (prompts, prompt_len))
    rollout = scoring = float("inf")
    for _ in range(repeats):
        r, s, _ = iteration(model, facs, ids, completion_len)
        rollout, scoring = min(rollout, r), min(scoring, s)
    print(json.dumps({"torch": torch.__version__, "rollout_s": rollout, "scoring_s": scoring}))


if __name__ == "__main__":
    main()
