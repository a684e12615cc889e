// Unpickler for the subset of pickle that torch.save writes for a dict of tensors.
#include "core/experts/torch_file.h"

#include "core/experts/zip_reader.h"

#include <t2/error.h>

#include <cstring>
#include <map>
#include <memory>

namespace t2::detail::torch_file {

struct PyValue;
using PyPtr = PyValue*;  // owned by the Unpickler's arena (no cycles to leak)

struct PyValue {
  enum class Kind { None, Bool, Int, Float, Str, Tuple, List, Dict, Global, Storage, Tensor, Mark };
  Kind kind = Kind::None;
  std::int64_t i = 0;
  double f = 0.0;
  std::string s;  // Str text, Global "module.name", Storage/Tensor storage type name
  std::vector<PyPtr> items;
  std::vector<std::pair<PyPtr, PyPtr>> dict;
  // Storage / Tensor
  std::string key;  // storage key (zip entry data/<key>)
  std::int64_t offset = 0;
  std::vector<std::int64_t> shape, stride;
};

class Unpickler {
 public:
  Unpickler(const std::string& bytes, const std::string& where) : b_(bytes), where_(where) {}

  PyPtr run() {
    for (;;) {
      const auto op = static_cast<unsigned char>(byte());
      if (op == '.') {
        if (stack_.size() != 1)
          fail("stack holds " + std::to_string(stack_.size()) + " values at STOP");
        return stack_.back();
      }
      step(op);
    }
  }

 private:
  PyPtr make(PyValue::Kind kind) {
    arena_.push_back(std::make_unique<PyValue>());
    arena_.back()->kind = kind;
    return arena_.back().get();
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw Error(ErrorKind::Corrupt, where_ + ": " + what + " (at byte " + std::to_string(pos_) +
                                        "). Is this a torch.save file of a dict of tensors?");
  }
  [[noreturn]] void unsupported(const std::string& what) const {
    throw Error(ErrorKind::Unsupported, where_ + ": " + what +
                                            "; only dicts of tensors as torch.save writes them "
                                            "are read");
  }
  char byte() {
    if (pos_ >= b_.size()) fail("pickle ends without STOP");
    return b_[pos_++];
  }
  std::uint64_t le(int n) {
    if (pos_ + static_cast<std::size_t>(n) > b_.size()) fail("pickle truncated");
    std::uint64_t v = 0;
    for (int k = n - 1; k >= 0; --k) v = (v << 8) | static_cast<unsigned char>(b_[pos_ + k]);
    pos_ += static_cast<std::size_t>(n);
    return v;
  }
  std::string take(std::uint64_t n) {
    if (n > b_.size() - pos_) fail("pickle truncated");
    std::string s = b_.substr(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::string line() {
    const auto end = b_.find('\n', pos_);
    if (end == std::string::npos) fail("unterminated GLOBAL");
    std::string s = b_.substr(pos_, end - pos_);
    pos_ = end + 1;
    return s;
  }
  PyPtr pop() {
    if (stack_.empty()) fail("stack underflow");
    auto v = stack_.back();
    stack_.pop_back();
    return v;
  }
  PyPtr& top() {
    if (stack_.empty()) fail("stack underflow");
    return stack_.back();
  }
  std::vector<PyPtr> pop_mark() {
    if (marks_.empty()) fail("no MARK");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    if (m > stack_.size()) fail("MARK beyond the stack");
    std::vector<PyPtr> items(stack_.begin() + static_cast<std::ptrdiff_t>(m), stack_.end());
    stack_.resize(m);
    return items;
  }
  PyPtr tuple(std::vector<PyPtr> items) {
    auto t = make(PyValue::Kind::Tuple);
    t->items = std::move(items);
    return t;
  }
  PyPtr integer(std::int64_t v) {
    auto p = make(PyValue::Kind::Int);
    p->i = v;
    return p;
  }
  void set_items(PyPtr& dict, const std::vector<PyPtr>& kv) {
    if (dict->kind != PyValue::Kind::Dict) fail("SETITEM on a non-dict");
    if (kv.size() % 2) fail("odd number of SETITEMS values");
    for (std::size_t k = 0; k < kv.size(); k += 2) dict->dict.emplace_back(kv[k], kv[k + 1]);
  }
  std::vector<std::int64_t> ints(const PyPtr& t, const char* what) {
    if (t->kind != PyValue::Kind::Tuple) fail(std::string(what) + " is not a tuple");
    std::vector<std::int64_t> out;
    for (const auto& x : t->items) {
      if (x->kind != PyValue::Kind::Int) fail(std::string(what) + " holds a non-integer");
      out.push_back(x->i);
    }
    return out;
  }
  PyPtr reduce(const PyPtr& callable, const PyPtr& args) {
    if (callable->kind != PyValue::Kind::Global || args->kind != PyValue::Kind::Tuple)
      fail("REDUCE needs a GLOBAL and a tuple");
    const auto& a = args->items;
    if (callable->s == "collections.OrderedDict") return make(PyValue::Kind::Dict);
    if (callable->s == "torch._utils._rebuild_tensor_v2") {
      if (a.size() < 4 || a[0]->kind != PyValue::Kind::Storage || a[1]->kind != PyValue::Kind::Int)
        fail("malformed _rebuild_tensor_v2 arguments");
      auto t = make(PyValue::Kind::Tensor);
      t->s = a[0]->s;
      t->key = a[0]->key;
      t->offset = a[1]->i;
      t->shape = ints(a[2], "tensor size");
      t->stride = ints(a[3], "tensor stride");
      return t;
    }
    if (callable->s == "torch._utils._rebuild_parameter") {
      if (a.empty() || a[0]->kind != PyValue::Kind::Tensor) fail("malformed _rebuild_parameter");
      return a[0];
    }
    unsupported("unsupported object " + callable->s);
  }
  PyPtr persistent(const PyPtr& pid) {
    if (pid->kind != PyValue::Kind::Tuple || pid->items.size() < 5 ||
        pid->items[0]->kind != PyValue::Kind::Str || pid->items[0]->s != "storage" ||
        pid->items[1]->kind != PyValue::Kind::Global || pid->items[2]->kind != PyValue::Kind::Str)
      fail("malformed persistent id (expected ('storage', type, key, location, numel))");
    auto s = make(PyValue::Kind::Storage);
    const auto& type = pid->items[1]->s;
    s->s = type.substr(type.rfind('.') + 1);
    s->key = pid->items[2]->s;
    return s;
  }
  void step(unsigned char op) {
    using K = PyValue::Kind;
    switch (op) {
      case 0x80:
        le(1);
        break;  // PROTO
      case 0x95:
        le(8);
        break;  // FRAME
      case '(':
        marks_.push_back(stack_.size());
        break;
      case ')':
        stack_.push_back(tuple({}));
        break;
      case ']':
        stack_.push_back(make(K::List));
        break;
      case '}':
        stack_.push_back(make(K::Dict));
        break;
      case 't':
        stack_.push_back(tuple(pop_mark()));
        break;
      case 0x85: {
        auto a = pop();
        stack_.push_back(tuple({a}));
        break;
      }
      case 0x86: {
        auto b2 = pop(), a = pop();
        stack_.push_back(tuple({a, b2}));
        break;
      }
      case 0x87: {
        auto c = pop(), b2 = pop(), a = pop();
        stack_.push_back(tuple({a, b2, c}));
        break;
      }
      case 'X':
      case 0x8c:
      case 'U': {
        auto s = make(K::Str);
        s->s = take(le(op == 'X' ? 4 : 1));
        stack_.push_back(s);
        break;
      }
      case 'J':
        stack_.push_back(integer(static_cast<std::int32_t>(le(4))));
        break;
      case 'K':
        stack_.push_back(integer(static_cast<std::int64_t>(le(1))));
        break;
      case 'M':
        stack_.push_back(integer(static_cast<std::int64_t>(le(2))));
        break;
      case 0x8a: {  // LONG1
        const auto n = le(1);
        if (n > 8) unsupported("integer wider than 64 bits");
        std::uint64_t v = n ? le(static_cast<int>(n)) : 0;
        if (n && n < 8 && (v >> (8 * n - 1)) & 1) v |= ~0ULL << (8 * n);
        stack_.push_back(integer(static_cast<std::int64_t>(v)));
        break;
      }
      case 'G': {
        std::uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | static_cast<unsigned char>(byte());
        auto f = make(K::Float);
        std::memcpy(&f->f, &bits, 8);
        stack_.push_back(f);
        break;
      }
      case 'N':
        stack_.push_back(make(K::None));
        break;
      case 0x88:
      case 0x89: {
        auto v = make(K::Bool);
        v->i = op == 0x88;
        stack_.push_back(v);
        break;
      }
      case 'c': {
        auto g = make(K::Global);
        const auto module = line();
        g->s = module + "." + line();
        stack_.push_back(g);
        break;
      }
      case 'R': {
        auto args = pop();
        auto fn = pop();
        stack_.push_back(reduce(fn, args));
        break;
      }
      case 'b':
        pop();
        top();
        break;  // BUILD: object state (e.g. state_dict _metadata) ignored
      case 'Q': {
        auto pid = pop();
        stack_.push_back(persistent(pid));
        break;
      }
      case 'q':
        memo_[le(1)] = top();
        break;
      case 'r':
        memo_[le(4)] = top();
        break;
      case 0x94:
        memo_[memo_.size()] = top();
        break;
      case 'h':
      case 'j': {
        auto it = memo_.find(le(op == 'h' ? 1 : 4));
        if (it == memo_.end()) fail("memo reference to an unknown slot");
        stack_.push_back(it->second);
        break;
      }
      case 's': {
        auto v = pop(), k = pop();
        set_items(top(), {k, v});
        break;
      }
      case 'u': {
        auto kv = pop_mark();
        set_items(top(), kv);
        break;
      }
      case 'a': {
        auto v = pop();
        top()->items.push_back(v);
        break;
      }
      case 'e': {
        auto vs = pop_mark();
        for (auto& v : vs) top()->items.push_back(v);
        break;
      }
      default: {
        char hex[8];
        std::snprintf(hex, sizeof hex, "0x%02x", op);
        unsupported(std::string("pickle opcode ") + hex);
      }
    }
  }

  const std::string& b_;
  std::string where_;
  std::size_t pos_ = 0;
  std::vector<PyPtr> stack_;
  std::vector<std::size_t> marks_;
  std::map<std::uint64_t, PyPtr> memo_;
  std::vector<std::unique_ptr<PyValue>> arena_;
};

float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = (h & 0x8000u) << 16;
  std::uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ffu, bits;
  if (exp == 0x1f) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalise
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400u));
      bits = sign | (static_cast<std::uint32_t>(127 - 15 - e) << 23) | ((mant & 0x3ffu) << 13);
    }
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

TensorF32 load_tensor(const zip_reader::ZipArchive& zip, const PyValue& t, const std::string& name,
                      const std::string& path) {
  TensorF32 out;
  out.dtype = t.s;
  out.shape = t.shape;
  std::size_t el = 0;
  if (t.s == "BFloat16Storage" || t.s == "HalfStorage")
    el = 2;
  else if (t.s == "FloatStorage")
    el = 4;
  else if (t.s == "DoubleStorage")
    el = 8;
  else
    throw Error(ErrorKind::Unsupported, path + ": tensor '" + name + "' has storage type " + t.s +
                                            "; expected BFloat16, Half, Float or Double");
  std::int64_t numel = 1;
  for (auto d : t.shape) {
    if (d < 0 || (d > 0 && numel > (std::int64_t{1} << 40) / d))
      throw Error(ErrorKind::Corrupt, path + ": tensor '" + name + "' has an invalid size");
    numel *= d;
  }
  std::int64_t expect = 1;
  for (std::size_t d = t.shape.size(); d-- > 0;) {
    if (t.shape[d] > 1 && (d >= t.stride.size() || t.stride[d] != expect))
      throw Error(ErrorKind::Unsupported, path + ": tensor '" + name + "' is not contiguous");
    expect *= t.shape[d];
  }
  const auto* entry = zip.find_suffix("/data/" + t.key);
  if (!entry)
    throw Error(ErrorKind::Corrupt, path + ": storage data/" + t.key + " of tensor '" + name +
                                        "' is missing from the archive");
  const std::string bytes = zip.read(*entry);
  if (t.offset < 0 || static_cast<std::uint64_t>(t.offset + numel) * el > bytes.size())
    throw Error(ErrorKind::Corrupt, path + ": tensor '" + name + "' extends past its storage");
  const char* p = bytes.data() + static_cast<std::size_t>(t.offset) * el;
  out.values.resize(static_cast<std::size_t>(numel));
  for (std::size_t i = 0; i < out.values.size(); ++i, p += el) {
    if (el == 2) {
      std::uint16_t h;
      std::memcpy(&h, p, 2);
      if (t.s == "HalfStorage") {
        out.values[i] = half_to_float(h);
      } else {
        const std::uint32_t bits = static_cast<std::uint32_t>(h) << 16;
        std::memcpy(&out.values[i], &bits, 4);
      }
    } else if (el == 4) {
      std::memcpy(&out.values[i], p, 4);
    } else {
      double d;
      std::memcpy(&d, p, 8);
      out.values[i] = static_cast<float>(d);
    }
  }
  return out;
}

std::vector<std::pair<std::string, TensorF32>> read_tensor_dict(const std::string& path) {
  zip_reader::ZipArchive zip(path);
  const auto* pkl = zip.find_suffix("data.pkl");
  if (!pkl)
    throw Error(ErrorKind::Corrupt, path + ": zip archive has no data.pkl (not a torch.save file)");
  const std::string bytes = zip.read(*pkl);
  Unpickler unpickler(bytes, path + " (" + pkl->name + ")");
  const PyPtr root = unpickler.run();
  if (root->kind != PyValue::Kind::Dict)
    throw Error(ErrorKind::Unsupported, path + ": the saved object is not a dict of tensors");
  std::vector<std::pair<std::string, TensorF32>> out;
  for (const auto& [k, v] : root->dict) {
    if (k->kind != PyValue::Kind::Str)
      throw Error(ErrorKind::Unsupported, path + ": a dict key is not a string");
    if (v->kind != PyValue::Kind::Tensor)
      throw Error(ErrorKind::Unsupported, path + ": value of key '" + k->s + "' is not a tensor");
    out.emplace_back(k->s, load_tensor(zip, *v, k->s, path));
  }
  return out;
}

}  // namespace t2::detail::torch_file
