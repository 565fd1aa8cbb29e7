import { noGpuReason } from './tensorflow-probe';

describe('noGpuReason', () => {
  it("names the CUDA libraries TensorFlow could not open", () => {
    const log = [
      "2026-12-01 W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'libcudart.so.11.0'; dlerror: libcudart.so.11.0: cannot open shared object file: No such file or directory",
      "2026-12-01 W tensorflow/stream_executor/platform/default/dso_loader.cc:64] Could not load dynamic library 'libcudnn.so.8'; dlerror: libcudnn.so.8: cannot open shared object file: No such file or directory",
      'W tensorflow/core/common_runtime/gpu/gpu_device.cc:1850] Cannot dlopen some GPU libraries. Skipping registering GPU devices...',
    ].join('\n');
    expect(noGpuReason(log)).toBe(
      'TensorFlow lists no GPU: could not open libcudart.so.11.0 (libcudart.so.11.0: cannot open shared object file: No such file or directory), libcudnn.so.8 (libcudnn.so.8: cannot open shared object file: No such file or directory)',
    );
  });

  it('reports a missing driver, and says so when TensorFlow said nothing', () => {
    expect(noGpuReason('I external/local_xla/xla/tsl/cuda/cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be used.')).toBe(
      'TensorFlow lists no GPU: Could not find cuda drivers on your machine, GPU will not be used.',
    );
    expect(noGpuReason('')).toBe('TensorFlow lists no GPU device (it computes on the CPU)');
  });
});
