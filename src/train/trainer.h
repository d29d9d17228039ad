/* The training run: batches from the loader, steps on the device, progress, atomic
 * checkpoints, bit-for-bit resume and a clear stop on NaN. */
#ifndef FCL_TRAIN_TRAINER_H
#define FCL_TRAIN_TRAINER_H
#include "data/dataset.h"
#include "train/step.h"

/* fcl_train_options, fcl_train_defaults, fcl_train_summary and fcl_train: include/facecl.h. */

/* out_dir's file names. */
#define FCL_CHECKPOINT_FILE "checkpoint.safetensors"
#define FCL_WEIGHTS_FILE "weights.safetensors"
#define FCL_TRAIN_LOG_FILE "train.csv"
#endif
