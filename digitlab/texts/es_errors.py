"""Los mensajes de error de la biblioteca en español: ``err.<código>`` -> texto.

Las mismas claves y los mismos ``{campos}`` que ``en_errors.py`` (lo comprueba
``tests/test_errors.py``).
"""
T = {
    # ---- cualquier archivo
    "err.file.not_found": "no existe el archivo: {file}",
    "err.file.symlink_loop": "{file}: bucle de enlaces simbólicos (demasiados niveles de enlaces)",
    "err.file.unreadable": "{file}: no se puede leer ({reason})",
    "err.file.cannot_open": "{file}: no se puede abrir ({reason})",
    "err.file.is_folder": "{file} es una carpeta, no un archivo",
    "err.file.fifo": "{file} no es un archivo normal sino una tubería con nombre (FIFO)",
    "err.file.char_device": "{file} no es un archivo normal sino un dispositivo de caracteres",
    "err.file.block_device": "{file} no es un archivo normal sino un dispositivo de bloques",
    "err.file.socket": "{file} no es un archivo normal sino un socket",
    "err.file.special": "{file} no es un archivo normal sino un archivo especial",
    "err.file.too_large": "{file} ocupa {size_bytes}; el límite es {limit_bytes}",
    "err.file.too_large_unpacked": "{file} ocupa {size_bytes} al descomprimirlo; el límite es {limit_bytes}",
    "err.file.over_limit": "{file} supera el límite de {limit_bytes}",
    "err.file.inflates_over_limit": "{file} supera el límite de {limit_bytes} al descomprimirlo",
    "err.file.bad_gzip": "{file}: archivo gzip dañado o incompleto ({reason})",
    "err.file.empty": "{file} está vacío",
    "err.file.empty_inflated": "{file} está vacío (una vez descomprimido)",
    # ---- conjuntos de datos
    "err.data.bad_images": "las imágenes deben ser (n, 28, 28) uint8, pero son {shape} {dtype}",
    "err.data.label_count": "{images} imágenes pero {labels} etiquetas",
    "err.data.bad_labels": "las etiquetas deben ser dígitos del 0 al 9",
    "err.data.no_images": "{file} no contiene ninguna imagen",
    "err.data.no_images_of": "{name} no contiene ninguna imagen de {digits} ni de {last}",
    "err.data.no_binary_digits": "los datos de entrenamiento no tienen ningún 0 ni ningún 1",
    "err.data.not_found": "no existe el archivo o la carpeta: {spec} (o usa 'sample' / 'mnist')",
    "err.data.unknown_format": "{file}: no es un archivo .csv, .npz ni IDX",
    "err.data.split_unlabelled": "no se puede dividir un conjunto de datos sin etiquetas",
    "err.data.select_unlabelled": "no se pueden elegir clases de un conjunto de datos sin etiquetas",
    "err.data.bad_val_fraction": "val_fraction debe estar entre 0 y 1, no {value}",
    "err.npz.unreadable": "{file}: no es un archivo de datos de DigitLab ({reason})",
    "err.npz.bad_images": "{file}: las imágenes deben ser (n, 28, 28) uint8, pero son {shape} {dtype}",
    # ---- CSV de Kaggle
    "err.csv.no_rows": "{file}: tiene cabecera pero ninguna fila; no contiene ninguna imagen",
    "err.csv.header_too_long": "{file}: la primera línea supera {limit_bytes}; no es una cabecera de CSV de Kaggle",
    "err.csv.header_columns": (
        "{file}: la cabecera tiene {count} columnas; se esperaban 785 (label,pixel0..pixel783) "
        "o 784 (pixel0..pixel783)"),
    "err.csv.column_name": "{file}: la columna {column} se llama {name!r}; se esperaba {expected!r}",
    "err.csv.row_too_long": "{file}: la fila {row} supera {limit_bytes}; una fila de 785 números ocupa como mucho ~3 KB",
    "err.csv.cell_count": "{file}: la fila {row} tiene {count} celdas; la cabecera tiene {expected}",
    "err.csv.empty_cell": "{file}: fila {row}, columna {column!r}: la celda está vacía o es NaN",
    "err.csv.not_a_number": "{file}: fila {row}, columna {column!r}: {value!r} no es un número",
    "err.csv.unparsable": "{file}: no se ha podido leer como números",
    "err.csv.bad_label": "{file}: la fila {row} tiene la etiqueta {value:g}; las etiquetas deben ser dígitos del 0 al 9",
    "err.csv.bad_pixel": (
        "{file}: fila {row}, {column} = {value:g}; los píxeles deben ser números enteros del 0 al 255"),
    # ---- MNIST IDX
    "err.idx.truncated": (
        "{file}: la cabecera anuncia {dims} = {need} bytes de datos pero el archivo tiene {got} (está incompleto)"),
    "err.idx.too_long": "{file}: la cabecera anuncia {dims} = {need} bytes de datos pero el archivo tiene más",
    "err.idx.too_short": "{file}: es demasiado corto para ser un archivo IDX ({size} bytes)",
    "err.idx.bad_magic": (
        "{file}: número mágico 0x{magic} incorrecto; se esperaba 0x00000801 (etiquetas) o 0x00000803 (imágenes)"),
    "err.idx.truncated_header": "{file}: la cabecera está incompleta",
    "err.idx.not_28x28": "{file}: las imágenes son de {rows}x{cols}; DigitLab necesita 28x28",
    "err.idx.too_many_images": (
        "{file}: la cabecera anuncia {count} imágenes ({size_bytes}); el límite es {limit_bytes}"),
    "err.idx.too_many_labels": (
        "{file}: la cabecera anuncia {count} etiquetas ({size_bytes}); el límite es {limit_bytes}"),
    "err.idx.needs_labels": "un archivo IDX de imágenes necesita su archivo de etiquetas",
    "err.idx.labels_not_images": "{file}: es un archivo de etiquetas (1-D); se esperaban imágenes (número mágico 0x00000803)",
    "err.idx.images_not_labels": "{file}: es un archivo de imágenes; se esperaban etiquetas (número mágico 0x00000801)",
    "err.idx.count_mismatch": "{images_file} tiene {images} imágenes pero {labels_file} tiene {labels} etiquetas",
    "err.idx.bad_label": "{file}: la etiqueta {label} no es un dígito del 0 al 9",
    "err.idx.no_labels_file": "no hay archivo de etiquetas junto a {file} (se buscó {expected})",
    "err.idx.no_images_file": "{folder} no contiene ningún archivo IDX de imágenes (*-images-idx3-ubyte[.gz])",
    "err.idx.several_images_files": "{folder} contiene varios archivos IDX de imágenes ({files}): indica uno",
    # ---- MNIST completo
    "err.mnist.bad_split": "la partición debe ser 'train' o 'test', no {split!r}",
    "err.mnist.offline": (
        "MNIST completo no está en caché y DigitLab está sin conexión (DIGITLAB_OFFLINE está definida); "
        "la muestra incluida funciona sin conexión"),
    "err.mnist.download_failed": (
        "no se ha podido descargar MNIST completo ({reason}); ¿no hay red? La muestra incluida de 10k dígitos "
        "sigue funcionando."),
    "err.mnist.bad_checksum": "el mnist.npz descargado tiene una suma de comprobación incorrecta; no se usa",
    "err.mnist.cache_unreadable": "no se puede leer el archivo en caché {path} ({reason}); bórralo para descargarlo de nuevo",
    # ---- imágenes
    "err.preprocess.bad_shape": "se esperaba una imagen (H, W), (H, W, 3) o (H, W, 4), pero su forma es {shape}",
    "err.preprocess.bad_dtype": "los valores de la imagen deben ser números, pero son {dtype}",
    "err.preprocess.empty": "el dibujo está vacío: dibuja un dígito",
    "err.image.no_ink": "{file}: no se encontró tinta (la imagen está vacía)",
    "err.image.unusable": "{file}: {reason}",
    "err.image.too_many_pixels": "{file}: demasiados píxeles ({reason})",
    "err.image.unreadable": "{file}: no es una imagen legible ({reason})",
    "err.image.over_pixel_limit": (
        "{file}: {width}x{height} píxeles superan el límite de {side}x{side}; redúcela antes"),
    # ---- tipos de modelo y ajustes
    "err.config.unknown_kind": "tipo de modelo desconocido: {kind!r}; tipos disponibles: {known}",
    "err.config.unknown_preset": "{kind} no tiene la configuración {preset!r}; configuraciones: {presets}",
    "err.config.unknown_setting": "{kind} no tiene el ajuste {settings}; ajustes: {known}",
    "err.config.layers_type": (
        "{kind}: {setting} debe ser una lista de tamaños de capa como 128 o 256,128, no {value!r}"),
    "err.config.layers_numbers": (
        "{kind}: {setting}: los tamaños de capa deben ser números enteros como 128 o 256,128, no {value!r}"),
    "err.config.layers_none": "{kind}: {setting} necesita al menos una capa oculta",
    "err.config.layers_too_many": "{kind}: {setting}: como mucho {max} capas ocultas, no {count}",
    "err.config.layer_size": "{kind}: {setting}: el tamaño de capa {size} está fuera de {lo}-{hi}",
    "err.config.not_bool": "{kind}: {setting} debe ser verdadero o falso (true/false), no {value!r}",
    "err.config.not_string": "{kind}: {setting} debe ser un texto, no {value!r}",
    "err.config.not_choice": "{kind}: {setting} debe ser uno de {choices}, no {value!r}",
    "err.config.not_whole": "{kind}: {setting} debe ser un número entero, no {value!r}",
    "err.config.not_number": "{kind}: {setting} debe ser un número, no {value!r}",
    "err.config.not_finite": "{kind}: {setting} debe ser un número finito, no {value!r}",
    "err.config.out_of_range": "{kind}: {setting} = {value} está fuera de {lo}-{hi}",
    # ---- el almacén de modelos
    "err.store.bad_name": (
        "nombre de modelo no válido {name!r}: usa de 1 a {max} letras, dígitos, '.', '_' o '-', "
        "empezando por una letra o un dígito"),
    "err.store.name_taken": "ya existe un modelo llamado {name!r} (bórralo o cámbiale el nombre antes)",
    "err.store.exists": "ya existe un modelo llamado {name!r}",
    "err.store.exists_race": "ya existe un modelo llamado {name!r} (otro guardado se quedó con el nombre)",
    "err.store.object_array": "el array {array!r} tiene dtype object; solo se guardan arrays numéricos",
    "err.store.not_a_model_folder": "{path} ya existe y no es un modelo de DigitLab; no se sobrescribe",
    "err.store.not_found": "no hay ningún modelo llamado {name!r}",
    "err.store.not_found_in": "no hay ningún modelo llamado {name!r} (en {folder})",
    "err.store.newer_format": "{name!r} se guardó con una versión más reciente de DigitLab (formato {version})",
    "err.store.is_a_file": "{name!r} es un archivo, no una carpeta de modelo de DigitLab",
    "err.store.no_meta": "{name!r} no tiene meta.json: no es un modelo de DigitLab",
    "err.store.no_payload": "{name!r} no tiene archivo {role}",
    "err.store.bad_file_name": "{name!r}: nombre de archivo no válido {file!r} en meta.json",
    "err.store.file_missing": "{name!r}: falta el archivo {file}",
    "err.store.checksum": "{name!r}: {file} está incompleto o alterado (la suma de comprobación no coincide)",
    "err.store.bad_weights": "{name!r}: {file} no es un archivo de pesos legible ({reason})",
    "err.store.weights_mismatch": "{name!r}: los pesos no encajan con la descripción del modelo ({reason})",
    "err.store.keras_unloadable": "{name!r}: Keras no ha podido cargar {file} ({reason})",
    "err.store.meta.bad_json": "{name!r}: meta.json no es un JSON válido ({reason})",
    "err.store.meta.unreadable": "{name!r}: no se puede leer meta.json ({reason})",
    "err.store.meta.too_deep": "{name!r}: meta.json tiene demasiados niveles de anidamiento",
    "err.store.meta.foreign": "{name!r}: meta.json no contiene metadatos de un modelo de DigitLab (¿es un archivo ajeno?)",
    "err.store.meta.missing": "{name!r}: a meta.json le falta el campo {field!r}",
    "err.store.meta.unknown_kind": "{name!r}: tipo de modelo desconocido {kind!r}",
    "err.store.meta.no_weights": "{name!r}: meta.json no indica ningún archivo de pesos",
    # un campo de meta.json de tipo incorrecto
    "err.store.meta.not_string": "{name!r}: el campo {field!r} de meta.json debe ser un texto, no {value}",
    "err.store.meta.not_string_or_null": "{name!r}: el campo {field!r} de meta.json debe ser un texto o null, no {value}",
    "err.store.meta.not_whole": "{name!r}: el campo {field!r} de meta.json debe ser un número entero, no {value}",
    "err.store.meta.not_number": "{name!r}: el campo {field!r} de meta.json debe ser un número, no {value}",
    "err.store.meta.not_bool": (
        "{name!r}: el campo {field!r} de meta.json debe ser verdadero o falso (true/false), no {value}"),
    "err.store.meta.not_object": "{name!r}: el campo {field!r} de meta.json debe ser un objeto, no {value}",
    "err.store.meta.bad_config": (
        "{name!r}: el campo {field!r} de meta.json debe ser un objeto (con val_fraction numérico), no {value}"),
    "err.store.meta.bad_dataset": (
        "{name!r}: el campo {field!r} de meta.json debe ser un objeto (spec y name textos, n_train y n_val "
        "números enteros), no {value}"),
    "err.store.meta.bad_metrics": (
        "{name!r}: el campo {field!r} de meta.json debe ser un objeto de números (exactitudes) y textos, no {value}"),
    "err.store.meta.bad_curves": (
        "{name!r}: el campo {field!r} de meta.json debe ser un objeto de listas de números, no {value}"),
    "err.store.meta.bad_files": (
        '{name!r}: el campo {field!r} de meta.json debe ser un objeto de entradas {{"file": nombre, "sha256": hex}}, '
        "no {value}"),
    # ---- the Dask cluster (digitlab.engine_dask)
    "err.dask.unreachable": "el planificador de Dask en {address} no respondió en {seconds} s ({reason})",
    "err.dask.worker_died": (
        "trabajo {job}: el worker de Dask que lo ejecutaba ({worker}) murió; el trabajo no se repitió, los demás "
        "siguen"),
    "err.dask.task_failed": "trabajo {job}: el clúster de Dask no pudo ejecutarlo ({reason})",
    "err.dask.job_failed": "el trabajo {job} falló en el clúster de Dask: {reason}",
    # ---- explicaciones (digitlab.gradients, digitlab.adversarial, digitlab.embedding)
    "err.explain.bad_target": "el objetivo debe ser uno de los dígitos del modelo ({digits}), no {target}",
    "err.explain.bad_eps": "el límite eps debe ser un número mayor que 0 y como mucho 1 (el rango de un píxel), no {eps}",
    "err.explain.bad_step": "el paso debe ser un número mayor que 0 y como mucho eps ({eps}), no {step}",
    "err.explain.bad_max_steps": "max_steps debe ser un número entero de al menos 1, no {max_steps}",
    "err.explain.bad_method": "la proyección debe ser una de {methods}, no {method!r}",
    "err.explain.no_hidden_layer": "{model} no tiene ninguna capa oculta que dibujar",
    "err.explain.too_few_images": "un mapa necesita al menos {min} dígitos, hay {n}",
    # ---- entrenar para una sala (digitlab.training, digitlab.costs)
    "err.train.one_job_each": "Ya tienes un entrenamiento en la sala ({job}): cada participante tiene un trabajo "
    "en cola o en marcha a la vez, para repartir los entrenadores de la sala con justicia. Espera a que termine, o "
    "detenlo, y luego empieza este.",
    "err.train.over_budget": "Este entrenamiento tardaría unos {estimate} s aquí, más que el presupuesto de la sala, "
    "{budget} s por trabajo. Lo que cabe: como mucho {max_epochs} épocas con estas imágenes, o como mucho "
    "{max_train} imágenes de entrenamiento con estas épocas.",
    "err.engine.dask_unavailable": "DIGITLAB_DASK_SCHEDULER está puesta ({address}), pero el motor de Dask no se "
    "puede cargar: {reason}. Instala el paquete distributed de dask, o quita la variable para entrenar en esta "
    "máquina.",
    "err.setting.not_whole": "{name} debe ser un número entero de al menos {minimum}, no {value!r}: se usa {default}",
    "err.setting.not_number": "{name} debe ser un número de al menos {minimum}, no {value!r}: se usa {default}",
    "err.finetune.too_few_drawings": "para afinar hacen falta al menos {need_train} dibujos para entrenar y "
    "{need_heldout} apartados (de los dígitos {digits}; se aparta más o menos uno de cada cuatro dibujos): "
    "hay {train} y {heldout}. Guarda algunos dibujos más en la página Dibujar.",
    "err.finetune.base_gone": "el modelo {name!r} que se iba a afinar ya no se puede leer: {reason}",
    "err.finetune.base_changed": "el modelo {name!r} se sustituyó después de pedir este afinado; pídelo otra vez",
}
