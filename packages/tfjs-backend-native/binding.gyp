{
  "variables": {
    "bmae_blas%": "openblas",
    "bmae_openblas_include%": "/usr/include/x86_64-linux-gnu/openblas-pthread",
    "bmae_openblas_lib%": ""
  },
  "targets": [
    {
      "target_name": "bmae_native",
      "sources": [
        "native/addon.cc",
        "native/thread_pool.cc",
        "native/kernels_isa.cc",
        "native/matmul.cc",
        "native/gemm.cc",
        "native/gemm_builtin.cc",
        "native/gemm_kernel_x86.cc",
        "native/gemm_kernel_neon.cc",
        "native/gemm_kernel_scalar.cc",
        "native/gemm_napi.cc",
        "native/attention.cc"
      ],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "libraries": ["-lpthread"],
      "conditions": [
        ["bmae_blas=='openblas'", {
          "defines": ["BMAE_GEMM_OPENBLAS=1"],
          "include_dirs": ["<(bmae_openblas_include)", "/usr/include/openblas"],
          "libraries": ["-lopenblas"],
          "conditions": [["bmae_openblas_lib!=''", {"libraries": ["-L<(bmae_openblas_lib)", "-Wl,-rpath,<(bmae_openblas_lib)"]}]]
        }]
      ],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      # -ffp-contract=off: GCC would otherwise fuse a * b + c into an FMA where it sees fit, and it does
      # not always see fit the same way in a loop's vector body and its scalar remainder; an element's
      # value would then depend on where a thread's range starts. Every float op is rounded as written
      # (the GEMM micro-kernels call their FMA intrinsics explicitly).
      "cflags_cc": ["-std=c++17", "-O3", "-fno-math-errno", "-ffp-contract=off", "-fexceptions"]
    }
  ]
}
