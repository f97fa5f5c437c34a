/**
 * The `metadata_props` keys Vigil reads from and writes into ONNX files. Only `vigil.window`,
 * `vigil.error_typical` and `vigil.error_boundary` change how a model is used; the rest record how it was trained.
 */
export const META_MODEL = 'vigil.model';
/** Window length the model was trained on; must agree with the input shape when both exist. */
export const META_WINDOW = 'vigil.window';
/** Metrics per vector of a vector autoencoder (`onnx` detector); checked against the device's. */
export const META_DIMENSIONS = 'vigil.dimensions';
/**
 * Reconstruction error (mean squared error over the window, in the series' units squared) that
 * maps to score 0.5: the q99.9 of the errors on the training series.
 */
export const META_ERROR_BOUNDARY = 'vigil.error_boundary';
/** Reconstruction error that maps to 0 (the median on the training series); optional, default 0. */
export const META_ERROR_TYPICAL = 'vigil.error_typical';
/**
 * Metric names of a vector autoencoder, in the order of each vector: a JSON array of strings.
 * The `onnx` detector refuses a device whose metrics are not these, in this order.
 */
export const META_METRICS = 'vigil.metrics';
export const META_HIDDEN = 'vigil.hidden';
export const META_EPOCHS = 'vigil.epochs';
export const META_SEED = 'vigil.seed';
export const META_TRAIN_WINDOWS = 'vigil.train_windows';
export const META_TRAIN_LOSS = 'vigil.train_loss';
export const META_MEAN = 'vigil.mean';
export const META_STD = 'vigil.std';
export const META_COLUMN = 'vigil.column';

/** Value of `vigil.model` in the files Vigil trains. */
export const WINDOW_AUTOENCODER = 'window-autoencoder/1';
/** Value of `vigil.model` in the vector autoencoders Vigil trains. */
export const VECTOR_AUTOENCODER = 'vector-autoencoder/1';
