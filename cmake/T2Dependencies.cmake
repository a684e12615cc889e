# Third-party dependencies, all from Debian's archive (see README.md).
# A pip/official LibTorch 2.x can replace Debian's 1.13 via CMAKE_PREFIX_PATH.

find_package(Torch REQUIRED)
# TORCH_CXX_FLAGS carries the libstdc++ ABI LibTorch was built with; every target must agree.
if(TORCH_CXX_FLAGS)
  separate_arguments(_t2_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
  add_compile_options(${_t2_torch_flags})
endif()

if(CAFFE2_USE_CUDA OR TORCH_CUDA_LIBRARIES)
  set(T2_TORCH_HAS_CUDA ON)
else()
  set(T2_TORCH_HAS_CUDA OFF)
endif()
if(T2_CUDA AND NOT T2_TORCH_HAS_CUDA)
  message(FATAL_ERROR
    "T2_CUDA=ON, but the LibTorch found at ${Torch_DIR} is CPU-only.\n"
    "Point CMake at a CUDA-enabled LibTorch, for example:\n"
    "  -DCMAKE_PREFIX_PATH=\"$(python3 -c 'import torch;print(torch.utils.cmake_prefix_path)')\"\n"
    "or configure with -DT2_CUDA=OFF (CUDA is then used only if the LibTorch found has it).")
endif()
message(STATUS "T2: LibTorch ${Torch_VERSION} at ${Torch_DIR} (CUDA: ${T2_TORCH_HAS_CUDA})")

find_package(SQLite3 REQUIRED)
find_package(nlohmann_json 3.11 REQUIRED)
find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)  # Unicode normalization (NFC)
find_package(Threads REQUIRED)
find_package(ZLIB REQUIRED)  # .jsonl.gz task datasets (Debian zlib1g-dev)
find_package(CLI11 CONFIG REQUIRED)

if(T2_BUILD_GUI)
  find_package(Qt6 REQUIRED COMPONENTS Widgets PrintSupport Svg Test)
  find_package(QCustomPlotQt6 REQUIRED)  # after Qt6; never QCustomPlot::QCustomPlot (the Qt5 build)
endif()
if(T2_BUILD_TESTS)
  find_package(GTest REQUIRED)
  include(GoogleTest)
endif()
