// Injected into the dashboard bundle by scripts/build-ui.mjs, which defines `Intl.Segmenter` as this export.
export { LazySegmenter } from './fast-text.js';
