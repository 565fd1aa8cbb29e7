import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { CIFAR10_CLASS_NAMES } from './cifar10';
import { downloadVerified } from './download';
import { loadCifar10 } from './load-cifar10';
import { removeTemporaryFolders, temporaryFolder, writeBinaryFolder, writeTar } from './test-fixtures';

describe('downloading the official archive (against a local server)', () => {
  const root = temporaryFolder('download');
  let server: Server;
  let baseUrl: string;
  let archive: Buffer;
  let md5: string;
  let requests = 0;

  beforeAll(async () => {
    writeBinaryFolder(root);
    archive = readFileSync(await writeTar(root, ['cifar-10-batches-bin'], join(root, 'fixture.tar.gz')));
    md5 = createHash('md5').update(archive).digest('hex');
    server = createServer((request, response) => {
      requests++;
      if (request.url === '/cifar-10-binary.tar.gz') {
        response.writeHead(200, { 'content-length': archive.length });
        response.end(archive);
      } else {
        response.writeHead(404);
        response.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    removeTemporaryFolders();
  });

  it('downloads into the cache folder, verifies the MD5, loads it, and reuses the file next time', async () => {
    const cacheDir = temporaryFolder('cache');
    const options = { cacheDir, env: {}, download: { url: `${baseUrl}/cifar-10-binary.tar.gz`, md5 } };
    const before = requests;
    const data = await loadCifar10(options);
    expect(readFileSync(join(cacheDir, 'cifar-10-binary.tar.gz')).equals(archive)).toBe(true);
    expect(data.classNames).toEqual(CIFAR10_CLASS_NAMES);
    expect(data.train.count).toBe(20);
    const again = await loadCifar10(options);
    expect(again.fromCache).toBe(true);
    expect(requests - before).toBe(1);
  });

  it('deletes a download whose checksum does not match and says so', async () => {
    const cacheDir = temporaryFolder('cache');
    const dest = join(cacheDir, 'cifar-10-binary.tar.gz');
    const wrong = '0'.repeat(32);
    await expect(downloadVerified({ url: `${baseUrl}/cifar-10-binary.tar.gz`, dest, md5: wrong, progress: false })).rejects.toThrow(
      `checksum mismatch for ${baseUrl}/cifar-10-binary.tar.gz: expected MD5 ${wrong}, got ${md5} (${archive.length} bytes); the bad download was deleted`,
    );
    expect(existsSync(dest)).toBe(false);
    expect(readdirSync(cacheDir)).toEqual([]);
  });

  it('reports an HTTP error', async () => {
    const dest = join(temporaryFolder('cache'), 'x.tar.gz');
    await expect(downloadVerified({ url: `${baseUrl}/missing`, dest, md5, progress: false })).rejects.toThrow(
      `cannot download ${baseUrl}/missing (HTTP 404`,
    );
  });

  it('explains how to point at local data when the network is unreachable', async () => {
    // A port nobody listens on: the connection is refused at once.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const failure = loadCifar10({ cacheDir: temporaryFolder('cache'), env: {}, download: { url: `http://127.0.0.1:${port}/c.tar.gz`, md5 } });
    await expect(failure).rejects.toThrow(/cannot download http:\/\/127\.0\.0\.1:\d+\/c\.tar\.gz \(.*ECONNREFUSED.*\)\. .*set BMAE_DATA \(or pass --source\)/);
  });
});
