// Model shapes the benchmarks share (random weights come from t2::Model::random).
#pragma once

#include <t2/model_config.h>

namespace t2::bench {

// Qwen2.5-0.5B: hidden 896, 24 layers, GQA 14/2 heads of 64, vocab 151936, tied embeddings.
inline ModelConfig qwen25_05b() {
  ModelConfig c;
  c.architecture = "Qwen2ForCausalLM";
  c.family = "qwen2";
  c.vocab_size = 151936;
  c.hidden_size = 896;
  c.intermediate_size = 4864;
  c.num_hidden_layers = 24;
  c.num_attention_heads = 14;
  c.num_key_value_heads = 2;
  c.head_dim = 64;
  c.rope_theta = 1e6;
  c.qkv_bias = true;
  c.tie_word_embeddings = true;
  c.sliding_window.assign(24, 0);
  return c;
}

// The demo-sized Llama (hidden 256, 4 layers), where per-op overhead dominates.
inline ModelConfig small_llama() {
  ModelConfig c = qwen25_05b();
  c.architecture = "LlamaForCausalLM";
  c.family = "llama";
  c.vocab_size = 8192;
  c.hidden_size = 256;
  c.intermediate_size = 1024;
  c.num_hidden_layers = 4;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.qkv_bias = false;
  c.tie_word_embeddings = false;
  c.sliding_window.assign(4, 0);
  return c;
}

}  // namespace t2::bench
