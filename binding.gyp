{
  "targets": [
    {
      "target_name": "sockbridge",
      "sources": ["native/addon.cc", "native/probe.cc", "native/road.cc", "native/host.cc", "native/diag.cc", "native/seccomp.cc", "native/lsm.cc", "native/userns.cc"],
      "libraries": ["-ldl"],
      "include_dirs": ["<!@(node -p \"require('node-addon-api').include\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags!": ["-fexceptions"],
      "cflags_cc!": ["-fexceptions", "-std=gnu++17", "-std=gnu++20"],
      "cflags": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fno-exceptions"],
      "configurations": {
        "Release": {
          "cflags!": ["-O3"],
          "cflags_cc!": ["-O3"],
          "cflags": ["-O2"],
          "cflags_cc": ["-O2"]
        }
      }
    }
  ]
}
