/* The training run: batches from the loader, steps on the device, progress, atomic
 * checkpoints, bit-for-bit resume and a clear stop on NaN. */
#ifndef FCL_TRAIN_TRAINER_H
#define FCL_TRAIN_TRAINER_H
#include "data/dataset.h"
#include "train/step.h"

/* fcl_train_options, fcl_train_defaults, fcl_train_summary and fcl_train: include/facecl.h. */

/* out_dir's file names. */
/* FCL_CHECKPOINT_FILE, FCL_WEIGHTS_FILE, FCL_TRAIN_LOG_FILE: facecl.h. */
#endif
