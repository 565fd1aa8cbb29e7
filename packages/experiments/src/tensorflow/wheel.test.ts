import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cudaRequirements, explainPipFailure, findPip, WHEEL_REQUIREMENT } from './wheel';

describe('TensorFlow wheel', () => {
  it('pins both variants to one version', () => {
    expect(WHEEL_REQUIREMENT).toEqual({ cpu: 'tensorflow-cpu==2.21.0', gpu: 'tensorflow==2.21.0' });
  });

  it("reads the and-cuda requirements from the wheel's METADATA, nothing else", () => {
    const metadata = [
      'Metadata-Version: 2.1',
      'Requires-Dist: numpy>=1.26.0',
      'Requires-Dist: nvidia-cublas-cu12<13.0,>=12.5.3.2; extra == "and-cuda"',
      'Requires-Dist: nvidia-cudnn-cu12<10.0,>=9.3.0.75; extra == "and-cuda"',
      'Requires-Dist: tensorflow-io-gcs-filesystem>=0.23.1; (sys_platform != "win32" and python_version < "3.13") and extra == "gcs-filesystem"',
    ].join('\n');
    expect(cudaRequirements(metadata)).toEqual(['nvidia-cublas-cu12<13.0,>=12.5.3.2', 'nvidia-cudnn-cu12<10.0,>=9.3.0.75']);
  });

  it('says what to do when the index is unreachable or has no wheel', () => {
    const unreachable =
      "WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(... [Errno -2] Name or service not known)': /simple/tensorflow-cpu/\n" +
      'ERROR: Could not find a version that satisfies the requirement tensorflow-cpu==2.21.0 (from versions: none)\nERROR: No matching distribution found for tensorflow-cpu==2.21.0';
    expect(explainPipFailure(unreachable, 'tensorflow-cpu==2.21.0', '3.11.7')).toMatch(/could not reach the package index .*PIP_INDEX_URL/);
    const missing = 'ERROR: Could not find a version that satisfies the requirement tensorflow-cpu==2.21.0 (from versions: 2.20.0)\nERROR: No matching distribution found for tensorflow-cpu==2.21.0';
    expect(explainPipFailure(missing, 'tensorflow-cpu==2.21.0', '3.14.0')).toMatch(/no wheel of tensorflow-cpu==2.21.0 for this machine \(Python 3.14.0.*BMAE_SETUP_PYTHON/);
  });

  it('names python and pip when they are missing', () => {
    expect(() => findPip('/nonexistent/python3')).toThrow(/cannot run '\/nonexistent\/python3'.*apt-get install python3 python3-pip/);
    const dir = mkdtempSync(join(tmpdir(), 'bmae-nopip-'));
    try {
      // a "python" that runs but has no pip module
      const fake = join(dir, 'python');
      writeFileSync(fake, `#!/bin/sh\nif [ "$1" = "-c" ]; then echo 3.11.0; exit 0; fi\necho "No module named pip" >&2; exit 1\n`, { mode: 0o755 });
      expect(() => findPip(fake)).toThrow(/has no pip \(No module named pip\).*ensurepip/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
