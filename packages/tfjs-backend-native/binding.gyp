{
  "targets": [
    {
      "target_name": "bmae_native",
      "sources": [
        "native/addon.cc",
        "native/thread_pool.cc",
        "native/elementwise.cc",
        "native/reduce.cc",
        "native/copy.cc",
        "native/matmul.cc",
        "native/fused.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "/usr/include/x86_64-linux-gnu/openblas-pthread",
        "/usr/include/openblas"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "libraries": ["-lopenblas", "-lpthread"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-O3", "-march=native", "-fno-math-errno", "-fexceptions"]
    }
  ]
}
