import { emaStep, emaUsesFeatures, isEmaCopyEpoch, isEmaUpdateEpoch, isSnapshotEpoch, snapshotCopiesBy, snapshotUsesFeatures } from './schedules';

const epochs = (n: number) => Array.from({ length: n }, (_, e) => e);

describe('MAE-K schedule', () => {
  it('copies exactly at the start of epochs K, 2K, 3K ...', () => {
    expect(epochs(21).filter((e) => isSnapshotEpoch(e, 5))).toEqual([5, 10, 15, 20]);
    expect(epochs(5).filter((e) => isSnapshotEpoch(e, 1))).toEqual([1, 2, 3, 4]);
    expect(epochs(50).filter((e) => isSnapshotEpoch(e, 20))).toEqual([20, 40]);
  });
  it('reconstructs pixels before the first copy and features from epoch K on', () => {
    expect(epochs(8).map((e) => snapshotUsesFeatures(e, 5))).toEqual([false, false, false, false, false, true, true, true]);
  });
  it('counts the copies made by the start of an epoch', () => {
    expect([0, 4, 5, 9, 10, 11].map((e) => snapshotCopiesBy(e, 5))).toEqual([0, 0, 1, 1, 2, 2]);
  });
});

describe('EMA-MAE schedule', () => {
  it('switches to features at WSE, copying once then updating after every later epoch', () => {
    expect(epochs(8).map((e) => emaUsesFeatures(e, 5))).toEqual([false, false, false, false, false, true, true, true]);
    expect(epochs(8).filter((e) => isEmaCopyEpoch(e, 5))).toEqual([5]);
    expect(epochs(8).filter((e) => isEmaUpdateEpoch(e, 5))).toEqual([5, 6, 7]);
  });
  it('WSE 0 bootstraps from the start', () => {
    expect(isEmaCopyEpoch(0, 0)).toBe(true);
    expect(emaUsesFeatures(0, 0)).toBe(true);
  });
  it('EMA arithmetic: tau 0 keeps, tau 1 copies, tau 0.25 interpolates', () => {
    expect(emaStep(2, 10, 0)).toBe(2);
    expect(emaStep(2, 10, 1)).toBe(10);
    expect(emaStep(2, 10, 0.25)).toBe(4);
  });
});
