export * from './random';
export { CIFAR10_CLASS_NAMES, IMAGE_BYTES, IMAGE_CHANNELS, IMAGE_HEIGHT, IMAGE_WIDTH, countPerClass, type Split, type SplitName } from './cifar10';
export { checkCifar10Source, loadCifar10, resolveCacheDir, type Cifar10, type LoadCifar10Options } from './load-cifar10';
export { computeChannelStats, normalizeImages, type ChannelStats, type Rgb } from './normalization';
export {
  composeTransforms, gatherBatch, normalizeBatch, pretrainAugmentation, pretrainSampler, randomHorizontalFlip, randomResizedCrop, sampleCropBox,
  type BatchSampler, type BatchTransform, type CropBox, type ImageBatch, type RandomResizedCropOptions,
} from './augment';
export { batchIndices, epochOrder, stratifiedIndices, subsetSplit } from './batching';
export { CIFAR10_BINARY } from './download';
export { encodeBinaryRecords } from './binary-format';
