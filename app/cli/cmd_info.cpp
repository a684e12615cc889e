// `t2 info`: versions, devices, threads, BLAS, and the measured compute self-check.
#include "commands.h"

#include <iostream>
#include <memory>

namespace t2::cli {

void add_info_command(CLI::App& app, const GlobalOptions& global, const Runner*& chosen) {
  struct Options {
    bool json = false;
    bool no_bench = false;
    bool quick = false;
    SelfCheckParams params;
  };
  auto opts = std::make_shared<Options>();
  auto* sub = app.add_subcommand(
      "info",
      "Report LibTorch version, devices, threads and BLAS, and measure GEMM GFLOP/s and "
      "memory bandwidth (a few seconds)");
  sub->add_flag("--json", opts->json, "Print one JSON document instead of text");
  sub->add_option("--device", opts->params.device, "Device to measure: cpu, cuda or auto")
      ->capture_default_str();
  sub->add_flag("--no-bench", opts->no_bench, "Skip the measurements (instant)");
  sub->add_flag("--quick", opts->quick, "Short measurements (sizes 256 and 512, ~0.5 s)");

  auto runner = std::make_shared<Runner>([opts, &global]() {
    Engine engine = make_engine(global);
    if (opts->no_bench) {
      auto info = engine.system_info();
      std::cout << (opts->json ? to_json(info) + "\n" : to_text(info));
      return kExitOk;
    }
    if (opts->quick) {
      opts->params.gemm_sizes = {256, 512};
      opts->params.min_seconds_per_size = 0.05;
      opts->params.bandwidth_bytes = 32 << 20;
    }
    auto report = engine.self_check(opts->params, make_cli_job());
    std::cout << (opts->json ? to_json(report) + "\n" : to_text(report));
    for (const auto& w : report.warnings) std::cerr << "t2: WARNING: " << w << "\n";
    return kExitOk;
  });
  sub->callback([&chosen, runner] { chosen = runner.get(); });
}

}  // namespace t2::cli
