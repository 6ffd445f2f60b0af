"""The library's error messages in English, one per error code: ``err.<code>`` -> text.

The code and its ``{params}`` are raised by the library (:mod:`digitlab.errors`); ``str(err)``
is this text, and :func:`digitlab.texts.error_text` says it in the page's language
(``es_errors.py``). ``tests/test_errors.py`` checks that every raised code is here and in
Spanish with the same fields. Params named ``*_bytes`` are said as sizes (``1.5 MB``).
"""
T = {
    # ---- any file (digitlab.data, digitlab.inference)
    "err.file.not_found": "no such file: {file}",
    "err.file.symlink_loop": "{file}: symlink loop (too many levels of symbolic links)",
    "err.file.unreadable": "{file}: cannot be read ({reason})",
    "err.file.cannot_open": "{file}: cannot be opened ({reason})",
    "err.file.is_folder": "{file} is a folder, not a file",
    "err.file.fifo": "{file} is not a regular file but a named pipe (FIFO)",
    "err.file.char_device": "{file} is not a regular file but a character device",
    "err.file.block_device": "{file} is not a regular file but a block device",
    "err.file.socket": "{file} is not a regular file but a socket",
    "err.file.special": "{file} is not a regular file but a special file",
    "err.file.too_large": "{file} is {size_bytes}; the limit is {limit_bytes}",
    "err.file.too_large_unpacked": "{file} is {size_bytes} once unpacked; the limit is {limit_bytes}",
    "err.file.over_limit": "{file} is over the {limit_bytes} limit",
    "err.file.inflates_over_limit": "{file} inflates to over the {limit_bytes} limit",
    "err.file.bad_gzip": "{file}: corrupt or truncated gzip file ({reason})",
    "err.file.empty": "{file} is empty",
    "err.file.empty_inflated": "{file} is empty (once inflated)",
    # ---- datasets
    "err.data.bad_images": "images must be (n, 28, 28) uint8, got {shape} {dtype}",
    "err.data.label_count": "{images} images but {labels} labels",
    "err.data.bad_labels": "labels must be digits 0-9",
    "err.data.no_images": "{file} holds no images",
    "err.data.no_images_of": "{name} holds no images of {digits} or {last}",
    "err.data.no_binary_digits": "no 0s or 1s in the training data",
    "err.data.not_found": "no such file or folder: {spec} (or use 'sample' / 'mnist')",
    "err.data.unknown_format": "{file}: not a .csv, .npz or IDX file",
    "err.data.split_unlabelled": "cannot split a dataset without labels",
    "err.data.select_unlabelled": "cannot select classes of a dataset without labels",
    "err.data.bad_val_fraction": "val_fraction must be between 0 and 1, not {value}",
    "err.npz.unreadable": "{file}: not a DigitLab dataset file ({reason})",
    "err.npz.bad_images": "{file}: images must be (n, 28, 28) uint8, got {shape} {dtype}",
    # ---- Kaggle CSV
    "err.csv.no_rows": "{file}: has a header but no rows; it holds no images",
    "err.csv.header_too_long": "{file}: the first line is over {limit_bytes}; not a Kaggle CSV header",
    "err.csv.header_columns": (
        "{file}: header has {count} columns; expected 785 (label,pixel0..pixel783) or 784 (pixel0..pixel783)"),
    "err.csv.column_name": "{file}: column {column} is named {name!r}; expected {expected!r}",
    "err.csv.row_too_long": "{file}: row {row} is over {limit_bytes} long; a row of 785 numbers is at most ~3 KB",
    "err.csv.cell_count": "{file}: row {row} has {count} cells; the header has {expected}",
    "err.csv.empty_cell": "{file}: row {row}, column {column!r} is empty or NaN",
    "err.csv.not_a_number": "{file}: row {row}, column {column!r} is not a number: {value!r}",
    "err.csv.unparsable": "{file}: could not be read as numbers",
    "err.csv.bad_label": "{file}: row {row} has label {value:g}; labels must be digits 0-9",
    "err.csv.bad_pixel": "{file}: row {row}, {column} = {value:g}; pixels must be whole numbers 0-255",
    # ---- MNIST IDX
    "err.idx.truncated": "{file}: header announces {dims} = {need} bytes of data but the file holds {got} (truncated)",
    "err.idx.too_long": "{file}: header announces {dims} = {need} bytes of data but the file holds more",
    "err.idx.too_short": "{file}: too short to be an IDX file ({size} bytes)",
    "err.idx.bad_magic": "{file}: wrong magic number 0x{magic}; expected 0x00000801 (labels) or 0x00000803 (images)",
    "err.idx.truncated_header": "{file}: truncated header",
    "err.idx.not_28x28": "{file}: images are {rows}x{cols}; DigitLab needs 28x28",
    "err.idx.too_many_images": "{file}: header announces {count} images ({size_bytes}); the limit is {limit_bytes}",
    "err.idx.too_many_labels": "{file}: header announces {count} labels ({size_bytes}); the limit is {limit_bytes}",
    "err.idx.needs_labels": "an IDX images file needs its labels file",
    "err.idx.labels_not_images": "{file}: is a labels file (1-D); expected images (magic 0x00000803)",
    "err.idx.images_not_labels": "{file}: is an images file; expected labels (magic 0x00000801)",
    "err.idx.count_mismatch": "{images_file} has {images} images but {labels_file} has {labels} labels",
    "err.idx.bad_label": "{file}: label {label} is not a digit 0-9",
    "err.idx.no_labels_file": "no labels file beside {file} (looked for {expected})",
    "err.idx.no_images_file": "{folder} holds no IDX images file (*-images-idx3-ubyte[.gz])",
    "err.idx.several_images_files": "{folder} holds several IDX images files ({files}): name one",
    # ---- full MNIST
    "err.mnist.bad_split": "split must be 'train' or 'test', not {split!r}",
    "err.mnist.offline": (
        "full MNIST is not cached and DigitLab is offline (DIGITLAB_OFFLINE is set); the bundled sample works offline"),
    "err.mnist.download_failed": (
        "full MNIST could not be downloaded ({reason}); no network? The bundled 10k sample still works."),
    "err.mnist.bad_checksum": "downloaded mnist.npz has the wrong checksum; not used",
    "err.mnist.cache_unreadable": "cached {path} is unreadable ({reason}); delete it to download again",
    # ---- pictures (digitlab.preprocess, digitlab.inference)
    "err.preprocess.bad_shape": "expected an (H, W), (H, W, 3) or (H, W, 4) image, got shape {shape}",
    "err.preprocess.bad_dtype": "image values must be numbers, got {dtype}",
    "err.preprocess.empty": "the drawing is empty: draw a digit",
    "err.image.no_ink": "{file}: no ink found (an empty picture)",
    "err.image.unusable": "{file}: {reason}",
    "err.image.too_many_pixels": "{file}: too many pixels ({reason})",
    "err.image.unreadable": "{file}: not a readable image ({reason})",
    "err.image.over_pixel_limit": "{file}: {width}x{height} pixels is over the limit of {side}x{side}; shrink it first",
    # ---- model kinds and settings (digitlab.models)
    "err.config.unknown_kind": "unknown model kind {kind!r}; known: {known}",
    "err.config.unknown_preset": "{kind} has no preset {preset!r}; presets: {presets}",
    "err.config.unknown_setting": "{kind} has no setting {settings}; settings: {known}",
    "err.config.layers_type": "{kind}: {setting} must be layer sizes like 128 or 256,128, not {value!r}",
    "err.config.layers_numbers": "{kind}: {setting} must be whole numbers like 128 or 256,128, not {value!r}",
    "err.config.layers_none": "{kind}: {setting} needs at least one hidden layer",
    "err.config.layers_too_many": "{kind}: {setting}: at most {max} hidden layers, not {count}",
    "err.config.layer_size": "{kind}: {setting}: layer size {size} is outside {lo}-{hi}",
    "err.config.not_bool": "{kind}: {setting} must be true or false, not {value!r}",
    "err.config.not_string": "{kind}: {setting} must be a string, not {value!r}",
    "err.config.not_choice": "{kind}: {setting} must be one of {choices}, not {value!r}",
    "err.config.not_whole": "{kind}: {setting} must be a whole number, not {value!r}",
    "err.config.not_number": "{kind}: {setting} must be a number, not {value!r}",
    "err.config.not_finite": "{kind}: {setting} must be a finite number, not {value!r}",
    "err.config.out_of_range": "{kind}: {setting} = {value} is outside {lo}-{hi}",
    # ---- the model store (digitlab.store)
    "err.store.bad_name": (
        "invalid model name {name!r}: use 1-{max} letters, digits, '.', '_' or '-', starting with a letter or digit"),
    "err.store.name_taken": "a model named {name!r} already exists (delete or rename it first)",
    "err.store.exists": "a model named {name!r} already exists",
    "err.store.exists_race": "a model named {name!r} already exists (another save took the name)",
    "err.store.object_array": "array {array!r} has dtype object; only numeric arrays are stored",
    "err.store.not_a_model_folder": "{path} exists and is not a DigitLab model; not overwritten",
    "err.store.not_found": "no model named {name!r}",
    "err.store.not_found_in": "no model named {name!r} (in {folder})",
    "err.store.newer_format": "{name!r} was saved by a newer DigitLab (format {version})",
    "err.store.is_a_file": "{name!r} is a file, not a DigitLab model folder",
    "err.store.no_meta": "{name!r} has no meta.json: not a DigitLab model",
    "err.store.no_payload": "{name!r} has no {role} file",
    "err.store.bad_file_name": "{name!r}: bad file name {file!r} in meta.json",
    "err.store.file_missing": "{name!r}: {file} is missing",
    "err.store.checksum": "{name!r}: {file} is truncated or altered (checksum mismatch)",
    "err.store.bad_weights": "{name!r}: {file} is not a readable weights file ({reason})",
    "err.store.weights_mismatch": "{name!r}: weights do not fit the model description ({reason})",
    "err.store.keras_unloadable": "{name!r}: {file} could not be loaded by Keras ({reason})",
    "err.store.meta.bad_json": "{name!r}: meta.json is not valid JSON ({reason})",
    "err.store.meta.unreadable": "{name!r}: meta.json cannot be read ({reason})",
    "err.store.meta.too_deep": "{name!r}: meta.json is nested too deeply",
    "err.store.meta.foreign": "{name!r}: meta.json is not DigitLab model metadata (a foreign file?)",
    "err.store.meta.missing": "{name!r}: meta.json lacks {field!r}",
    "err.store.meta.unknown_kind": "{name!r}: unknown model kind {kind!r}",
    "err.store.meta.no_weights": "{name!r}: meta.json names no weights file",
    # a meta.json field of the wrong type ({value}: its repr, cut at 80 characters)
    "err.store.meta.not_string": "{name!r}: meta.json field {field!r} must be a string, not {value}",
    "err.store.meta.not_string_or_null": "{name!r}: meta.json field {field!r} must be a string or null, not {value}",
    "err.store.meta.not_whole": "{name!r}: meta.json field {field!r} must be a whole number, not {value}",
    "err.store.meta.not_number": "{name!r}: meta.json field {field!r} must be a number, not {value}",
    "err.store.meta.not_bool": "{name!r}: meta.json field {field!r} must be true or false, not {value}",
    "err.store.meta.not_object": "{name!r}: meta.json field {field!r} must be an object, not {value}",
    "err.store.meta.bad_config": (
        "{name!r}: meta.json field {field!r} must be an object (val_fraction a number), not {value}"),
    "err.store.meta.bad_dataset": (
        "{name!r}: meta.json field {field!r} must be an object (spec and name strings, n_train and n_val "
        "whole numbers), not {value}"),
    "err.store.meta.bad_metrics": (
        "{name!r}: meta.json field {field!r} must be an object of numbers (accuracies) and strings, not {value}"),
    "err.store.meta.bad_curves": "{name!r}: meta.json field {field!r} must be an object of lists of numbers, not {value}",
    "err.store.meta.bad_files": (
        '{name!r}: meta.json field {field!r} must be an object of {{"file": name, "sha256": hex}} entries, not {value}'),
    # ---- the Dask cluster (digitlab.engine_dask)
    "err.dask.unreachable": "the Dask scheduler at {address} did not answer within {seconds} s ({reason})",
    "err.dask.worker_died": (
        "job {job}: the Dask worker running it ({worker}) died; the job was not run again, the other jobs go on"),
    "err.dask.task_failed": "job {job}: the Dask cluster could not run it ({reason})",
    "err.dask.job_failed": "job {job} failed on the Dask cluster: {reason}",
    # ---- explanations (digitlab.gradients, digitlab.adversarial, digitlab.embedding)
    "err.explain.bad_target": "the target must be one of the model's digits ({digits}), not {target}",
    "err.explain.bad_eps": "the bound eps must be a number greater than 0 and at most 1 (the pixel range), not {eps}",
    "err.explain.bad_step": "the step must be a number greater than 0 and at most eps ({eps}), not {step}",
    "err.explain.bad_max_steps": "max_steps must be a whole number of at least 1, not {max_steps}",
    "err.explain.bad_method": "the projection must be one of {methods}, not {method!r}",
    "err.explain.no_hidden_layer": "{model} has no hidden layer to map",
    "err.explain.too_few_images": "a map needs at least {min} digits, got {n}",
    # ---- training for a room (digitlab.training, digitlab.costs)
    "err.train.one_job_each": "You already have a training job in the room ({job}): each participant has one job "
    "queued or running at a time, so the room's trainers are shared fairly. Wait for it to finish, or stop it, then "
    "start this one.",
    "err.train.over_budget": "This run would take about {estimate} s here, over the room's budget of {budget} s for "
    "one job. What fits: at most {max_epochs} epochs on these images, or at most {max_train} training images with "
    "these epochs.",
    "err.engine.dask_unavailable": "DIGITLAB_DASK_SCHEDULER is set ({address}), but the Dask engine cannot be "
    "loaded: {reason}. Install dask's distributed package, or unset the variable to train on this machine.",
    "err.setting.not_whole": "{name} must be a whole number of at least {minimum}, not {value!r}: using {default}",
    "err.setting.not_number": "{name} must be a number of at least {minimum}, not {value!r}: using {default}",
    "err.finetune.too_few_drawings": "fine-tuning needs at least {need_train} drawings to train on and "
    "{need_heldout} to hold out (of the digits {digits}; about one drawing in four is held out): there are "
    "{train} and {heldout}. Save some more drawings on the Draw page.",
    "err.finetune.base_gone": "the model {name!r} to fine-tune cannot be read any more: {reason}",
    "err.finetune.base_changed": "the model {name!r} was replaced after this fine-tuning was asked for; ask again",
}
