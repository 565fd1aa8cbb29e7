import { checkOutputPath, commandLine, parseInteger, parseRgb } from './cli-options';

describe('command-line values', () => {
  it('records the command line with arguments that need it quoted', () => {
    expect(commandLine(['init', '--out', '/tmp/a b.safetensors', '--seed', '3'])).toBe("bmae init --out '/tmp/a b.safetensors' --seed 3");
    expect(commandLine(['embed', "--note=it's"])).toBe("bmae embed '--note=it'\\''s'");
  });

  it('parses integers and r,g,b triples, naming the option when a value is wrong', () => {
    expect(parseInteger('12', '--batch', 1)).toBe(12);
    expect(() => parseInteger('', '--batch')).toThrow('--batch : not an integer');
    expect(() => parseInteger('1e400', '--seed')).toThrow('--seed 1e400: not an integer');
    expect(() => parseInteger('0', '--batch', 1)).toThrow('--batch 0: must be at least 1');
    expect(parseRgb('0.4914, 0.4822,0.4465', '--mean')).toEqual([0.4914, 0.4822, 0.4465]);
    expect(() => parseRgb('1,2,x', '--mean')).toThrow('--mean 1,2,x: expected three comma-separated numbers r,g,b');
    expect(() => parseRgb('1,,2', '--mean')).toThrow('expected three comma-separated numbers');
    expect(() => parseRgb('-1,1,1', '--std', true)).toThrow('--std -1,1,1: every value must be positive');
  });

  it('checks the output file extension and folder', () => {
    expect(checkOutputPath('/tmp/x.npy', '.npy')).toBe('/tmp/x.npy');
    expect(() => checkOutputPath('/tmp/x.np', '.npy')).toThrow('--out /tmp/x.np: the file name must end in .npy');
    expect(() => checkOutputPath('/no/such/folder/x.npy', '.npy')).toThrow('--out /no/such/folder/x.npy: folder /no/such/folder does not exist');
  });
});
