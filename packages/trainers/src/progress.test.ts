import { createProgress } from './progress';

describe('createProgress', () => {
  it("'lines' prints only the logged lines; 'none' prints nothing", () => {
    const out: string[] = [];
    const lines = createProgress('lines', (l) => out.push(l));
    lines.start('epoch 1/2', 10);
    lines.update(5, 'loss 1.0');
    lines.line('epoch 0.50 step 5 loss 1.0');
    lines.stop();
    expect(out).toEqual(['epoch 0.50 step 5 loss 1.0']);
    const silent = createProgress('none', (l) => out.push(l));
    silent.line('hidden');
    expect(out).toHaveLength(1);
  });
});
