import { CIFAR10_CLASS_NAMES } from './cifar10';
import { isImagePath, planImageFolder } from './image-folder';

const where = '/data/x.tar';

describe('planImageFolder', () => {
  it('finds the splits under a shared top folder, orders classes and files, ignores other files', () => {
    const files = [
      'top/README.txt',
      'top/train/b/2.png', 'top/train/a/1.jpg', 'top/train/b/10.png', 'top/train/a/0.JPEG',
      'top/test/a/0.png', 'top/test/b/0.png',
      '__MACOSX/top/train/a/._1.jpg', 'top/train/a/.hidden.png',
    ];
    const plan = planImageFolder(files, ['top', 'top/train', 'top/train/a', 'top/train/b', '__MACOSX/top/train/c'], where);
    expect(plan.classNames).toEqual(['a', 'b']);
    // Code-unit order: '10.png' < '2.png'.
    expect(plan.images.train).toEqual([['top/train/a/0.JPEG', 'top/train/a/1.jpg'], ['top/train/b/10.png', 'top/train/b/2.png']]);
    expect(plan.images.test).toEqual([['top/test/a/0.png'], ['top/test/b/0.png']]);
  });

  it('uses CIFAR-10 label order when the class names are the CIFAR-10 classes', () => {
    const files = CIFAR10_CLASS_NAMES.flatMap((name) => [`train/${name}/0.png`, `test/${name}/0.png`]).reverse();
    expect(planImageFolder(files, [], where).classNames).toEqual(CIFAR10_CLASS_NAMES);
  });

  it('explains what is wrong with the layout', () => {
    expect(() => planImageFolder(['a.png'], [], where)).toThrow(`${where}: image a.png is not inside a <split>/<class>/ folder`);
    expect(() => planImageFolder(['train/a/0.png', 'x/test/a/0.png'], [], where)).toThrow(
      `${where}: images at different folder depths (train/a/0.png and x/test/a/0.png)`,
    );
    expect(() => planImageFolder(['train/a/0.png', 'train/b/0.png', 'test/a/0.png'], [], where)).toThrow(
      `${where}: class 'b' has images in another split but none in test/`,
    );
    expect(() => planImageFolder(['train/a/0.png', 'test/a/0.png', 'test/z/0.png'], [], where)).toThrow(
      `${where}: class 'z' is in test/ but not in train/`,
    );
    expect(() => planImageFolder(['notes.txt'], [], where)).toThrow(`${where}: no .png/.jpg/.jpeg images found`);
  });

  it('recognises image names', () => {
    expect(['a/b/c.png', 'a/b/c.JPG', 'c.jpeg'].map(isImagePath)).toEqual([true, true, true]);
    expect(['a/b/c.gif', 'a/.b/c.png', 'a/b/._c.png', '__MACOSX/a/c.png'].map(isImagePath)).toEqual([false, false, false, false]);
  });
});
